#pragma once
// The fixture of the GPU tests: skips (saying why) unless every rank of this node has a GPU of its
// own, else gives each test an NcclCommunicator over the whole job on GPU <local rank>, and the
// tensor options of that GPU.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "atrous/build_info.h"
#include "atrous/distributed/nccl_communicator.h"
#include "mpi_test_world.h"

#if ATROUS_HAS_NCCL
namespace atrous::test_support {

class NcclTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string reason = why_no_gpu();
    if (!reason.empty()) GTEST_SKIP() << reason;
    comm_ = std::make_unique<distributed::NcclCommunicator>(test_world().comm(), test_gpu(),
                                                            distributed::CommunicatorOptions{});
  }
  distributed::NcclCommunicator& comm() { return *comm_; }
  static at::TensorOptions gpu() { return at::TensorOptions().device(at::kCUDA, test_gpu()); }

 private:
  std::unique_ptr<distributed::NcclCommunicator> comm_;
};

}  // namespace atrous::test_support
#endif
