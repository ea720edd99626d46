#include "atrous/data/hdf5_attributes.h"

#include "atrous/core/error.h"
#include "atrous/data/hdf5_check.h"
#include "atrous/data/hdf5_handle.h"
#include "atrous/data/hdf5_types.h"

namespace atrous::data {
namespace {

Hdf5Handle simple_space(std::vector<hsize_t> dims) {
  if (dims.empty()) return Hdf5Handle(ATROUS_HDF5_CHECK(H5Screate(H5S_SCALAR)));
  return Hdf5Handle(ATROUS_HDF5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)));
}

void write(hid_t object, const std::string& name, hid_t type, std::vector<hsize_t> dims, const void* data) {
  Hdf5Handle space = simple_space(std::move(dims));
  Hdf5Handle attribute(
      ATROUS_HDF5_CHECK(H5Acreate2(object, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT)));
  ATROUS_HDF5_CHECK(H5Awrite(attribute.get(), type, data));
}

Hdf5Handle open_attribute(hid_t object, const std::string& name) {
  ATROUS_CHECK(has_attribute(object, name), "attribute '", name, "' is missing");
  return Hdf5Handle(ATROUS_HDF5_CHECK(H5Aopen(object, name.c_str(), H5P_DEFAULT)));
}

// Throws unless attribute `name` stores `kind`.
void expect_attribute_kind(hid_t attribute, StoredKind kind, const std::string& name) {
  Hdf5Handle stored(ATROUS_HDF5_CHECK(H5Aget_type(attribute)));
  expect_stored_kind(stored.get(), kind, "attribute '" + name + "'");
}

// The number of values of an attribute, which sizes the buffer it is read into. A damaged dataspace
// can claim 2^61 of them; a pack's attributes hold a few hundred (class names, palette colours).
hssize_t element_count(hid_t attribute, const std::string& name) {
  Hdf5Handle space(ATROUS_HDF5_CHECK(H5Aget_space(attribute)));
  const hssize_t count = ATROUS_HDF5_CHECK(H5Sget_simple_extent_npoints(space.get()));
  ATROUS_CHECK(count <= max_attribute_values, "attribute '", name, "' has ", count, " values, more than ",
               max_attribute_values, " (damaged?)");
  return count;
}

}  // namespace

hid_t utf8_string_type() {
  hid_t type = ATROUS_HDF5_CHECK(H5Tcopy(H5T_C_S1));
  ATROUS_HDF5_CHECK(H5Tset_size(type, H5T_VARIABLE));
  ATROUS_HDF5_CHECK(H5Tset_cset(type, H5T_CSET_UTF8));
  return type;
}

void write_attribute(hid_t object, const std::string& name, int64_t value) {
  write(object, name, H5T_NATIVE_INT64, {}, &value);
}

void write_attribute(hid_t object, const std::string& name, const std::string& value) {
  Hdf5Handle type(utf8_string_type());
  const char* text = value.c_str();
  write(object, name, type.get(), {}, &text);
}

void write_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values) {
  Hdf5Handle type(utf8_string_type());
  std::vector<const char*> texts;
  for (const auto& value : values) texts.push_back(value.c_str());
  write(object, name, type.get(), {values.size()}, texts.data());
}

void write_attribute(hid_t object, const std::string& name, const std::vector<float>& values) {
  write(object, name, H5T_NATIVE_FLOAT, {values.size()}, values.data());
}

void write_attribute(hid_t object, const std::string& name, const std::vector<uint8_t>& values, hsize_t rows,
                     hsize_t columns) {
  ATROUS_ASSERT(values.size() == rows * columns, "attribute ", name, ": ", values.size(), " bytes for ", rows,
                " x ", columns);
  write(object, name, H5T_NATIVE_UINT8, {rows, columns}, values.data());
}

bool has_attribute(hid_t object, const std::string& name) {
  return ATROUS_HDF5_CHECK(H5Aexists(object, name.c_str())) > 0;
}

int64_t read_int_attribute(hid_t object, const std::string& name) {
  Hdf5Handle attribute = open_attribute(object, name);
  expect_attribute_kind(attribute.get(), StoredKind::integer, name);
  ATROUS_CHECK(element_count(attribute.get(), name) == 1, "attribute '", name, "' is not a single number");
  int64_t value = 0;
  ATROUS_HDF5_CHECK(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value));
  return value;
}

std::string read_string_attribute(hid_t object, const std::string& name) {
  std::vector<std::string> values = read_strings_attribute(object, name);
  ATROUS_CHECK(values.size() == 1, "attribute '", name, "' is not a single string");
  return values[0];
}

std::vector<std::string> read_strings_attribute(hid_t object, const std::string& name) {
  Hdf5Handle attribute = open_attribute(object, name);
  expect_attribute_kind(attribute.get(), StoredKind::variable_string, name);
  std::vector<char*> texts(static_cast<size_t>(element_count(attribute.get(), name)), nullptr);
  Hdf5Handle type(utf8_string_type());
  ATROUS_HDF5_CHECK(H5Aread(attribute.get(), type.get(), texts.data()));
  std::vector<std::string> values;
  for (char* text : texts) values.emplace_back(text != nullptr ? text : "");
  Hdf5Handle space(ATROUS_HDF5_CHECK(H5Aget_space(attribute.get())));
  H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, texts.data());
  return values;
}

std::vector<float> read_floats_attribute(hid_t object, const std::string& name) {
  Hdf5Handle attribute = open_attribute(object, name);
  expect_attribute_kind(attribute.get(), StoredKind::number, name);
  std::vector<float> values(static_cast<size_t>(element_count(attribute.get(), name)));
  ATROUS_HDF5_CHECK(H5Aread(attribute.get(), H5T_NATIVE_FLOAT, values.data()));
  return values;
}

std::vector<uint8_t> read_bytes_attribute(hid_t object, const std::string& name) {
  Hdf5Handle attribute = open_attribute(object, name);
  expect_attribute_kind(attribute.get(), StoredKind::uint8, name);
  std::vector<uint8_t> values(static_cast<size_t>(element_count(attribute.get(), name)));
  ATROUS_HDF5_CHECK(H5Aread(attribute.get(), H5T_NATIVE_UINT8, values.data()));
  return values;
}

}  // namespace atrous::data
