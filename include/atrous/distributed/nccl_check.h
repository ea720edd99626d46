#pragma once
// ATROUS_NCCL_CHECK(call): runs an NCCL call and throws LibraryError unless it returns ncclSuccess.
// The message has the rank label, the call's text, file:line, NCCL's name for the result and
// NCCL's last error text, e.g.
//   [rank 0/8 gpu01] NCCL call ncclCommInitRank(...) failed: ncclInvalidArgument (invalid argument):
//   rank 9 is not in [0, 8) (at src/distributed/nccl_communicator.cpp:80)
// Only available when NCCL was found at configure time (ATROUS_HAS_NCCL).

#include "atrous/build_info.h"
#include "atrous/core/error.h"

#if ATROUS_HAS_NCCL
#include <nccl.h>

namespace atrous::distributed {

std::string nccl_error_text(ncclResult_t code, ncclComm_t comm = nullptr);

[[noreturn]] void throw_nccl_error(ncclResult_t code, const char* call, SourceLocation where);

}  // namespace atrous::distributed

#define ATROUS_NCCL_CHECK(call)                                                       \
  do {                                                                                \
    ncclResult_t atrous_nccl_code_ = (call);                                          \
    if (atrous_nccl_code_ != ncclSuccess)                                             \
      ::atrous::distributed::throw_nccl_error(atrous_nccl_code_, #call, ATROUS_HERE); \
  } while (false)

#endif  // ATROUS_HAS_NCCL
