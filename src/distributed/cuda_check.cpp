#include "atrous/distributed/cuda_check.h"

#if ATROUS_HAS_CUDA

namespace atrous::distributed {

std::string cuda_error_text(cudaError_t code) {
  std::string text = to_text(cudaGetErrorName(code), ": ", cudaGetErrorString(code));
  int device = -1;
  if (cudaGetDevice(&device) == cudaSuccess) text += to_text(" (device ", device, ")");
  cudaGetLastError();  // the failed call may have left a sticky "last error"; the caller has it now
  return text;
}

void throw_cuda_error(cudaError_t code, const char* call, SourceLocation where) {
  throw LibraryError("CUDA", call, cuda_error_text(code), where);
}

}  // namespace atrous::distributed

#endif  // ATROUS_HAS_CUDA
