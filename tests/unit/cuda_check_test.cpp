#include <gtest/gtest.h>

#include "atrous/build_info.h"
#include "atrous/distributed/cuda_check.h"

namespace atrous::distributed {
namespace {

#if ATROUS_HAS_CUDA
// cudaSetDevice(-1) fails on every machine: invalid device with a GPU, no driver or no device
// without one. Either way the error must carry the call and CUDA's own name for the failure.
TEST(CudaCheck, FailedCallCarriesCallAndCudasErrorName) {
  const cudaError_t expected = cudaSetDevice(-1);
  cudaGetLastError();
  ASSERT_NE(expected, cudaSuccess);
  try {
    ATROUS_CUDA_CHECK(cudaSetDevice(-1));
    FAIL() << "cudaSetDevice(-1) succeeded";
  } catch (const LibraryError& error) {
    EXPECT_EQ(error.library(), "CUDA");
    EXPECT_EQ(error.call(), "cudaSetDevice(-1)");
    EXPECT_EQ(error.library_message().rfind(cudaGetErrorName(expected), 0), 0u) << error.what();
    EXPECT_NE(error.library_message().find(cudaGetErrorString(expected)), std::string::npos) << error.what();
  }
}
#else
TEST(CudaCheck, NotCompiledIn) {
  GTEST_SKIP() << "built without the CUDA toolkit";
}
#endif

}  // namespace
}  // namespace atrous::distributed
