#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/distributed/work_queue.h"

namespace atrous::distributed {
namespace {

CollectiveLabel make_label(uint64_t sequence) {
  CollectiveLabel label;
  label.collective = "allreduce";
  label.count = 1024;
  label.dtype = at::kFloat;
  label.sequence = sequence;
  return label;
}

TEST(WorkQueue, RunsOperationsInOrderOnOneOtherThread) {
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  std::vector<WorkHandle> works;
  {
    WorkQueue queue(10.0);
    for (int i = 0; i < 50; ++i)
      works.push_back(queue.submit(make_label(i), [&, i] {
        order.push_back(i);
        threads.push_back(std::this_thread::get_id());
      }));
    for (auto& work : works) work->wait();
  }
  ASSERT_EQ(order.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
  for (auto id : threads) {
    EXPECT_EQ(id, threads.front());
    EXPECT_NE(id, std::this_thread::get_id());
  }
}

TEST(WorkQueue, SubmitReturnsBeforeTheOperationRuns) {
  std::atomic<bool> release{false};
  WorkQueue queue(10.0);
  WorkHandle work = queue.submit(make_label(0), [&] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  EXPECT_FALSE(work->is_completed());
  release = true;
  work->wait();
  EXPECT_TRUE(work->is_completed());
}

TEST(WorkQueue, WaitRethrowsTheOperationsError) {
  WorkQueue queue(10.0);
  WorkHandle failing = queue.submit(make_label(0), [] { throw UserError("peer sent garbage", ATROUS_HERE); });
  WorkHandle next = queue.submit(make_label(1), [] {});
  EXPECT_THROW(
      {
        try {
          failing->wait();
        } catch (const UserError& error) {
          EXPECT_EQ(error.message(), "peer sent garbage");
          throw;
        }
      },
      UserError);
  EXPECT_NO_THROW(next->wait());  // later operations still run
}

TEST(WorkQueue, WaitPastTheTimeoutNamesTheStuckCollective) {
  WorkQueue queue(0.1);
  queue.submit(make_label(0), [] {});
  WorkHandle slow =
      queue.submit(make_label(1), [] { std::this_thread::sleep_for(std::chrono::milliseconds(600)); });
  try {
    slow->wait();
    FAIL() << "wait() returned although the operation outlasted the timeout";
  } catch (const UserError& error) {
    EXPECT_EQ(
        error.message(),
        "collective #1 (allreduce(sum) of 1024 float32) did not complete within dist.timeout_s = 0.1 s: "
        "a rank died or hangs, or the ranks issued collectives in different orders; stopping the job");
  }
}

}  // namespace
}  // namespace atrous::distributed
