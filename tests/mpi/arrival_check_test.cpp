#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "atrous/core/error.h"
#include "atrous/distributed/arrival_check.h"
#include "atrous/distributed/mpi_comm.h"
#include "mpi_test_world.h"

namespace atrous::distributed {
namespace {

using atrous::test_support::test_world;
using Clock = std::chrono::steady_clock;

TEST(ArrivalCheck, ReturnsOnEveryRankWhenAllArrive) {
  const MpiComm comm = MpiComm::duplicate(test_world().comm());
  for (int round = 0; round < 3; ++round) EXPECT_NO_THROW(wait_for_every_rank(comm.get(), 5, "round"));
}

// The last rank comes after the timeout: rank 0 names it; the others (the late one included) learn
// that rank 0 did not release them, after the grace period. Messages left over from the failed
// round stay on a communicator of their own.
TEST(ArrivalCheck, RankZeroNamesTheRankThatDidNotArrive) {
  const World& world = test_world();
  if (world.size() < 2) GTEST_SKIP() << "needs 2 ranks";
  const MpiComm comm = MpiComm::duplicate(world.comm());
  const int late = world.size() - 1;
  const double timeout_s = 0.4;
  if (world.rank() == late) std::this_thread::sleep_for(std::chrono::milliseconds(900));
  const auto start = Clock::now();
  std::string message;
  try {
    wait_for_every_rank(comm.get(), timeout_s, "the test's meeting point");
  } catch (const UserError& error) {
    message = error.message();
  }
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  if (world.is_root()) {
    EXPECT_EQ(message.find("rank(s) " + std::to_string(late) +
                           " did not reach the test's meeting point within dist.timeout_s = 0.4 s"),
              0u)
        << message;
    EXPECT_LT(waited, timeout_s + 1.0);
  } else {
    EXPECT_NE(
        message.find("rank 0 did not confirm that every rank reached the test's meeting point within 0.6 s"),
        std::string::npos)
        << message;
    EXPECT_GE(waited, timeout_s + arrival_grace_s(timeout_s) - 0.05);
  }
  MPI_Barrier(world.comm());
}

}  // namespace
}  // namespace atrous::distributed
