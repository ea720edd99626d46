#pragma once
// What an HDF5 dataset or attribute stores, in words, and the checks a reader makes of it before
// reading: HDF5 converts between numeric types on read without complaint (float32 0.7 read as uint8
// is 0, int16 300 is clamped to 255), so a reader that wants a type must check it first.
//
// Each check throws Error (the caller adds the file) saying what is stored and what was expected,
// e.g. "/labels holds int16 values; expected uint8".

#include <hdf5.h>

#include <string>
#include <vector>

namespace atrous::data {

// The element types a pack uses.
enum class StoredKind {
  uint8,            // unsigned 8-bit integers
  integer,          // any integer type (values range-checked by the caller)
  number,           // any integer or floating-point type
  string,           // variable- or fixed-length strings
  variable_string,  // variable-length strings only
};

// "uint8", "int16", "float32", "variable-length string", "fixed-length string (12 bytes)",
// "compound", ...: `type` as a user would name it (numpy's names for numbers).
std::string describe_hdf5_type(hid_t type);

// Throws unless `type` is of `kind`; `what` names the object ("/labels", "attribute 'palette'").
void expect_stored_kind(hid_t type, StoredKind kind, const std::string& what);

// A dataset's dimensions (an empty vector for a scalar).
std::vector<hsize_t> dataset_dims(hid_t dataset);

// Throws unless `dataset` stores `kind` (its `name` is written as "/name" in the message).
void expect_dataset_kind(hid_t dataset, StoredKind kind, const std::string& name);

}  // namespace atrous::data
