#include "atrous/distributed/nccl_check.h"

#if ATROUS_HAS_NCCL

namespace atrous::distributed {
namespace {

const char* result_name(ncclResult_t code) {
  switch (code) {
    case ncclSuccess:
      return "ncclSuccess";
    case ncclUnhandledCudaError:
      return "ncclUnhandledCudaError";
    case ncclSystemError:
      return "ncclSystemError";
    case ncclInternalError:
      return "ncclInternalError";
    case ncclInvalidArgument:
      return "ncclInvalidArgument";
    case ncclInvalidUsage:
      return "ncclInvalidUsage";
    case ncclRemoteError:
      return "ncclRemoteError";
    case ncclInProgress:
      return "ncclInProgress";
    default:
      return "ncclResult";
  }
}

}  // namespace

std::string nccl_error_text(ncclResult_t code, ncclComm_t comm) {
  std::string text = to_text(result_name(code), " (", ncclGetErrorString(code), ")");
  const char* last = ncclGetLastError(comm);
  if (last != nullptr && last[0] != '\0') text += to_text(": ", last);
  return text;
}

void throw_nccl_error(ncclResult_t code, const char* call, SourceLocation where) {
  throw LibraryError("NCCL", call, nccl_error_text(code), where);
}

}  // namespace atrous::distributed

#endif  // ATROUS_HAS_NCCL
