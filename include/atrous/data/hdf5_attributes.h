#pragma once
// Reading and writing the HDF5 attributes and string datasets of a pack, in the types h5py reads
// naturally: integers, float arrays, uint8 matrices and UTF-8 variable-length strings.

#include <hdf5.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace atrous::data {

// A variable-length UTF-8 string type (caller closes it through Hdf5Handle).
hid_t utf8_string_type();

void write_attribute(hid_t object, const std::string& name, int64_t value);
void write_attribute(hid_t object, const std::string& name, const std::string& value);
void write_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values);
void write_attribute(hid_t object, const std::string& name, const std::vector<float>& values);
// rows x columns bytes, row-major.
void write_attribute(hid_t object, const std::string& name, const std::vector<uint8_t>& values, hsize_t rows,
                     hsize_t columns);

bool has_attribute(hid_t object, const std::string& name);
// The readers refuse an attribute of more than this many values (UserError), before reading it.
inline constexpr int64_t max_attribute_values = 65536;

int64_t read_int_attribute(hid_t object, const std::string& name);
std::string read_string_attribute(hid_t object, const std::string& name);
std::vector<std::string> read_strings_attribute(hid_t object, const std::string& name);
std::vector<float> read_floats_attribute(hid_t object, const std::string& name);
std::vector<uint8_t> read_bytes_attribute(hid_t object, const std::string& name);

}  // namespace atrous::data
