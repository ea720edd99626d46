#pragma once
// ATROUS_CUDA_CHECK(call): runs a CUDA runtime call and throws LibraryError unless it returns
// cudaSuccess. The message has the rank label, the call's text, file:line, the current device and
// CUDA's own name and description of the error, e.g.
//   [rank 3/8 gpu02] CUDA call cudaSetDevice(3) failed: cudaErrorInvalidDevice: invalid device
//   ordinal (device 0) (at src/distributed/world.cpp:120)
// Only available when the CUDA toolkit was found at configure time (ATROUS_HAS_CUDA).

#include "atrous/build_info.h"
#include "atrous/core/error.h"

#if ATROUS_HAS_CUDA
#include <cuda_runtime_api.h>

namespace atrous::distributed {

// "cudaErrorInvalidDevice: invalid device ordinal (device 0)"
std::string cuda_error_text(cudaError_t code);

[[noreturn]] void throw_cuda_error(cudaError_t code, const char* call, SourceLocation where);

}  // namespace atrous::distributed

#define ATROUS_CUDA_CHECK(call)                                                       \
  do {                                                                                \
    cudaError_t atrous_cuda_code_ = (call);                                           \
    if (atrous_cuda_code_ != cudaSuccess)                                             \
      ::atrous::distributed::throw_cuda_error(atrous_cuda_code_, #call, ATROUS_HERE); \
  } while (false)

#endif  // ATROUS_HAS_CUDA
