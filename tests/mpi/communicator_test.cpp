// The MPI backend runs the Communicator conformance tests over every rank of the job, in both of
// its progress modes (a background thread, and the calling thread); and a wait for a late rank is
// accounted under its collective's purpose.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "atrous/distributed/mpi_communicator.h"
#include "communicator_conformance.h"
#include "mpi_test_world.h"

namespace atrous::test_support {
namespace {

CommunicatorBackend mpi_backend() {
  return {"mpi", [] { return std::string(); },
          [](const distributed::CommunicatorOptions& options) -> std::unique_ptr<distributed::Communicator> {
            return std::make_unique<distributed::MpiCommunicator>(test_world().comm(), options);
          },
          [] { return at::Device(at::kCPU); }};
}

CommunicatorBackend mpi_calling_thread_backend() {
  return {"mpi-calling-thread", [] { return std::string(); },
          [](const distributed::CommunicatorOptions& options) -> std::unique_ptr<distributed::Communicator> {
            return std::make_unique<distributed::MpiCommunicator>(test_world().comm(), options,
                                                                  distributed::MpiProgress::calling_thread);
          },
          [] { return at::Device(at::kCPU); }};
}

INSTANTIATE_TEST_SUITE_P(Mpi, CommunicatorConformance, ::testing::Values(mpi_backend()));
INSTANTIATE_TEST_SUITE_P(MpiCallingThread, CommunicatorConformance,
                         ::testing::Values(mpi_calling_thread_backend()));

// Rank 0 joins 300 ms late: every other rank's wait is accounted under the collective's purpose.
TEST(CommunicatorWaits, AWaitForALateRankIsAccountedUnderItsPurpose) {
  if (test_world().size() < 2) GTEST_SKIP() << "needs a second rank";
  for (auto progress :
       {distributed::MpiProgress::background_thread, distributed::MpiProgress::calling_thread}) {
    distributed::MpiCommunicator comm(test_world().comm(), distributed::CommunicatorOptions{}, progress);
    auto waits = std::make_shared<distributed::CollectiveWaits>();
    comm.account_waits_in(waits);
    comm.barrier()->wait();
    if (comm.rank() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    at::Tensor values = at::ones({16}, at::kDouble);
    comm.allreduce(values, distributed::ReduceOp::sum, distributed::CollectivePurpose::batch_norm)->wait();
    const distributed::WaitSeconds seen = waits->snapshot();
    if (comm.rank() != 0) {
      EXPECT_GE(seen[distributed::CollectivePurpose::batch_norm], 0.2);
    }
    EXPECT_EQ(seen[distributed::CollectivePurpose::gradients], 0.0);
    EXPECT_TRUE(values.equal(at::full({16}, double(comm.size()), at::kDouble)));
  }
}

}  // namespace
}  // namespace atrous::test_support
