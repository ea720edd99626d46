#include "atrous/data/hdf5_types.h"

#include "atrous/core/error.h"
#include "atrous/data/hdf5_check.h"
#include "atrous/data/hdf5_handle.h"

namespace atrous::data {
namespace {

const char* kind_name(StoredKind kind) {
  switch (kind) {
    case StoredKind::uint8:
      return "uint8";
    case StoredKind::integer:
      return "an integer type";
    case StoredKind::number:
      return "a number type";
    case StoredKind::string:
      return "strings";
    case StoredKind::variable_string:
      return "variable-length strings";
  }
  return "?";
}

bool is_kind(hid_t type, StoredKind kind) {
  const H5T_class_t type_class = H5Tget_class(type);
  switch (kind) {
    case StoredKind::uint8:
      return type_class == H5T_INTEGER && H5Tget_size(type) == 1 && H5Tget_sign(type) == H5T_SGN_NONE;
    case StoredKind::integer:
      return type_class == H5T_INTEGER;
    case StoredKind::number:
      return type_class == H5T_INTEGER || type_class == H5T_FLOAT;
    case StoredKind::string:
      return type_class == H5T_STRING;
    case StoredKind::variable_string:
      return type_class == H5T_STRING && H5Tis_variable_str(type) > 0;
  }
  return false;
}

}  // namespace

std::string describe_hdf5_type(hid_t type) {
  const size_t bytes = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return to_text(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int", 8 * bytes);
    case H5T_FLOAT:
      return to_text("float", 8 * bytes);
    case H5T_STRING:
      if (H5Tis_variable_str(type) > 0) return "variable-length string";
      return to_text("fixed-length string (", bytes, " bytes)");
    case H5T_ENUM:
      return "enum (numpy bool?)";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "variable-length sequence";
    case H5T_OPAQUE:
      return "opaque bytes";
    case H5T_REFERENCE:
      return "reference";
    default:
      return "an unknown type";
  }
}

void expect_stored_kind(hid_t type, StoredKind kind, const std::string& what) {
  ATROUS_CHECK(is_kind(type, kind), what, " holds ", describe_hdf5_type(type), " values; expected ",
               kind_name(kind));
}

std::vector<hsize_t> dataset_dims(hid_t dataset) {
  Hdf5Handle space(ATROUS_HDF5_CHECK(H5Dget_space(dataset)));
  const int rank = ATROUS_HDF5_CHECK(H5Sget_simple_extent_ndims(space.get()));
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) ATROUS_HDF5_CHECK(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr));
  return dims;
}

void expect_dataset_kind(hid_t dataset, StoredKind kind, const std::string& name) {
  Hdf5Handle type(ATROUS_HDF5_CHECK(H5Dget_type(dataset)));
  expect_stored_kind(type.get(), kind, "/" + name);
}

}  // namespace atrous::data
