#include <gtest/gtest.h>

#include "atrous/data/hdf5_check.h"

namespace atrous::data {
namespace {

TEST(Hdf5Check, FailedCallCarriesCallSiteAndHdf5sOwnText) {
  ::testing::internal::CaptureStderr();
  int line = __LINE__ + 2;
  try {
    ATROUS_HDF5_CHECK(H5Fopen("/nonexistent/pack.h5", H5F_ACC_RDONLY, H5P_DEFAULT));
    FAIL() << "H5Fopen of a missing file succeeded";
  } catch (const LibraryError& error) {
    EXPECT_EQ(error.library(), "HDF5");
    EXPECT_EQ(error.call(), "H5Fopen(\"/nonexistent/pack.h5\", H5F_ACC_RDONLY, H5P_DEFAULT)");
    EXPECT_NE(error.library_message().find("unable to open file"), std::string::npos) << error.what();
    EXPECT_NE(error.library_message().find("No such file or directory"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("tests/unit/hdf5_check_test.cpp:" + std::to_string(line)),
              std::string::npos)
        << error.what();
  }
  // HDF5 must not have printed its own error stack.
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(Hdf5Check, SuccessfulCallYieldsItsResult) {
  hid_t space = ATROUS_HDF5_CHECK(H5Screate(H5S_SCALAR));
  EXPECT_GE(space, 0);
  EXPECT_EQ(ATROUS_HDF5_CHECK(H5Sclose(space)), 0);
}

}  // namespace
}  // namespace atrous::data
