#pragma once
// ATROUS_HDF5_CHECK(call): runs an HDF5 C API call and throws LibraryError when it fails (a negative
// herr_t, hid_t or htri_t); otherwise it yields the call's result:
//   hid_t file = ATROUS_HDF5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
// The message has the rank label, the call's text, file:line and HDF5's own error stack, outermost
// first, e.g. "H5Fopen(...) failed: unable to open file <- unable to open file: name = 'x.h5',
// errno = 2, error message = 'No such file or directory'".
// HDF5's habit of printing its error stack to stderr is switched off the first time a check runs
// on each thread. HDF5's exit-time clean-up is off in every program that links this (it crashed on
// a file whose close had failed on a full disk): close what you open, as Hdf5Handle does.

#include <hdf5.h>

#include "atrous/core/error.h"

namespace atrous::data {

// Switches off HDF5's automatic error printing, once per thread.
void quiet_hdf5_errors();

// HDF5's current error stack as text, outermost first.
std::string hdf5_error_text();

// The system's reason at the end of an HDF5 error stack that has one ("... error message = 'No space
// left on device', ..." gives "No space left on device"); "" when it has none.
std::string hdf5_system_reason(const std::string& stack);

[[noreturn]] void throw_hdf5_error(const char* call, SourceLocation where);

template <class Result>
Result hdf5_checked(Result result, const char* call, SourceLocation where) {
  if (result < 0) throw_hdf5_error(call, where);
  return result;
}

}  // namespace atrous::data

#define ATROUS_HDF5_CHECK(call) \
  ::atrous::data::hdf5_checked((::atrous::data::quiet_hdf5_errors(), (call)), #call, ATROUS_HERE)
