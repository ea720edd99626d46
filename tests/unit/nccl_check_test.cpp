#include <gtest/gtest.h>

#include "atrous/build_info.h"
#include "atrous/distributed/nccl_check.h"

namespace atrous::distributed {
namespace {

#if ATROUS_HAS_NCCL
// A null communicator is rejected by NCCL's argument checks, with or without a GPU.
TEST(NcclCheck, FailedCallCarriesCallAndNcclsText) {
  int count = 0;
  try {
    ATROUS_NCCL_CHECK(ncclCommCount(nullptr, &count));
    FAIL() << "ncclCommCount(nullptr) succeeded";
  } catch (const LibraryError& error) {
    EXPECT_EQ(error.library(), "NCCL");
    EXPECT_EQ(error.call(), "ncclCommCount(nullptr, &count)");
    EXPECT_EQ(error.library_message().rfind("ncclInvalidArgument (", 0), 0u) << error.what();
    EXPECT_NE(error.library_message().find(ncclGetErrorString(ncclInvalidArgument)), std::string::npos)
        << error.what();
  }
}

TEST(NcclCheck, VersionOfTheLinkedLibraryMatchesTheHeader) {
  int version = 0;
  ATROUS_NCCL_CHECK(ncclGetVersion(&version));
  EXPECT_EQ(version / 100, NCCL_VERSION_CODE / 100);  // same major.minor
}
#else
TEST(NcclCheck, NotCompiledIn) {
  GTEST_SKIP() << "built without NCCL";
}
#endif

}  // namespace
}  // namespace atrous::distributed
