#pragma once
// ATROUS_MPI_CHECK(call): runs an MPI call and throws LibraryError unless it returns MPI_SUCCESS.
//
// The error carries the rank label, the call's source text, file:line and MPI's own error string
// (MPI_Error_string), e.g.
//   [rank 1/4 node07] MPI call MPI_Send(...) failed: MPI_ERR_RANK: invalid rank (at src/x.cpp:42)
// This only works on communicators whose error handler returns instead of aborting: distributed::World sets
// MPI_ERRORS_RETURN on MPI_COMM_WORLD, and its duplicates inherit it.

#include <mpi.h>

#include "atrous/core/error.h"

namespace atrous::distributed {

// MPI's text for an error code: "MPI_ERR_RANK: invalid rank".
std::string mpi_error_text(int code);

[[noreturn]] void throw_mpi_error(int code, const char* call, SourceLocation where);

}  // namespace atrous::distributed

#define ATROUS_MPI_CHECK(call)                                                      \
  do {                                                                              \
    int atrous_mpi_code_ = (call);                                                  \
    if (atrous_mpi_code_ != MPI_SUCCESS)                                            \
      ::atrous::distributed::throw_mpi_error(atrous_mpi_code_, #call, ATROUS_HERE); \
  } while (false)
