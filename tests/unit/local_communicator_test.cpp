// The single-process backend runs the Communicator conformance tests (as a job of one rank).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "../mpi/communicator_conformance.h"
#include "atrous/core/error.h"
#include "atrous/distributed/local_communicator.h"

namespace atrous::test_support {
namespace {

CommunicatorBackend local_backend() {
  return {"local", [] { return std::string(); },
          [](const distributed::CommunicatorOptions&) -> std::unique_ptr<distributed::Communicator> {
            return std::make_unique<distributed::LocalCommunicator>();
          },
          [] { return at::Device(at::kCPU); }};
}

INSTANTIATE_TEST_SUITE_P(Local, CommunicatorConformance, ::testing::Values(local_backend()));

TEST(LocalCommunicator, EveryOperationCompletesBeforeItReturns) {
  distributed::LocalCommunicator comm;
  at::Tensor values = at::arange(4, at::kFloat);
  at::Tensor output = at::zeros({4}, at::kFloat);
  EXPECT_TRUE(comm.allreduce(values, distributed::ReduceOp::sum)->is_completed());
  EXPECT_TRUE(comm.broadcast(values, 0)->is_completed());
  EXPECT_TRUE(comm.allgather(values, output)->is_completed());
  EXPECT_TRUE(output.equal(values));
  EXPECT_TRUE(comm.barrier()->is_completed());
}

}  // namespace
}  // namespace atrous::test_support
