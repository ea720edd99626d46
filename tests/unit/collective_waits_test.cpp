// Accounting of the time spent waiting for collectives, per purpose (distributed/collective_waits.h).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "atrous/distributed/collective_waits.h"
#include "atrous/distributed/local_communicator.h"

namespace atrous::distributed {
namespace {

TEST(CollectiveWaits, PurposesHaveTheNamesThatMetricsUse) {
  EXPECT_STREQ(collective_purpose_name(CollectivePurpose::gradients), "gradients");
  EXPECT_STREQ(collective_purpose_name(CollectivePurpose::batch_norm), "batch_norm");
  EXPECT_STREQ(collective_purpose_name(CollectivePurpose::loss), "loss_reduction");
  EXPECT_STREQ(collective_purpose_name(CollectivePurpose::step_agreement), "step_agreement");
  EXPECT_STREQ(collective_purpose_name(CollectivePurpose::other), "other");
}

TEST(CollectiveWaits, SnapshotsSubtractAndAddPerPurpose) {
  CollectiveWaits waits;
  const WaitSeconds before = waits.snapshot();
  EXPECT_EQ(before.total(), 0.0);
  waits.add(CollectivePurpose::batch_norm, 0.25);
  waits.add(CollectivePurpose::batch_norm, 0.5);
  waits.add(CollectivePurpose::gradients, 1.0);
  const WaitSeconds step = waits.snapshot() - before;
  EXPECT_DOUBLE_EQ(step[CollectivePurpose::batch_norm], 0.75);
  EXPECT_DOUBLE_EQ(step[CollectivePurpose::gradients], 1.0);
  EXPECT_DOUBLE_EQ(step[CollectivePurpose::loss], 0.0);
  EXPECT_DOUBLE_EQ(step.total(), 1.75);
  WaitSeconds interval;
  interval += step;
  interval += step;
  EXPECT_DOUBLE_EQ(interval[CollectivePurpose::batch_norm], 1.5);
  EXPECT_DOUBLE_EQ(interval.total(), 3.5);
}

TEST(CollectiveWaits, ConcurrentAddsAreAllCounted) {
  CollectiveWaits waits;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) waits.add(CollectivePurpose::loss, 0.001);
    });
  for (auto& thread : threads) thread.join();
  EXPECT_NEAR(waits.snapshot()[CollectivePurpose::loss], 4.0, 1e-6);
}

TEST(CollectiveWaits, ACommunicatorAccountsEachWaitUnderItsPurpose) {
  LocalCommunicator comm;
  at::Tensor values = at::ones({4});
  comm.allreduce(values, ReduceOp::sum, CollectivePurpose::batch_norm)->wait();  // before: not accounted
  auto waits = std::make_shared<CollectiveWaits>();
  comm.account_waits_in(waits);
  for (int i = 0; i < 3; ++i) comm.allreduce(values, ReduceOp::sum, CollectivePurpose::batch_norm)->wait();
  comm.barrier(CollectivePurpose::step_agreement)->wait();
  const WorkHandle not_waited = comm.allreduce(values, ReduceOp::sum, CollectivePurpose::gradients);
  const WaitSeconds seen = waits->snapshot();
  EXPECT_GT(seen[CollectivePurpose::batch_norm], 0.0);
  EXPECT_GT(seen[CollectivePurpose::step_agreement], 0.0);
  EXPECT_EQ(seen[CollectivePurpose::gradients], 0.0) << "issued but never waited for";
  EXPECT_EQ(seen[CollectivePurpose::other], 0.0);
  EXPECT_LT(seen.total(), 1.0);
  EXPECT_TRUE(not_waited->is_completed());
  comm.account_waits_in(nullptr);
  comm.allreduce(values, ReduceOp::sum, CollectivePurpose::loss)->wait();
  EXPECT_EQ(waits->snapshot()[CollectivePurpose::loss], 0.0);
}

}  // namespace
}  // namespace atrous::distributed
