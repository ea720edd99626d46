#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/distributed/thread_budget.h"

namespace atrous::distributed {
namespace {

TEST(ThreadBudget, ExplicitOptionWinsOverEverything) {
  ThreadBudget budget = decide_threads(3, std::string("8"), 16, 4);
  EXPECT_EQ(budget.threads, 3);
  EXPECT_EQ(budget.reason, "dist.threads");
}

TEST(ThreadBudget, SlurmCpusPerTaskWinsOverCpuCount) {
  ThreadBudget budget = decide_threads(0, std::string("6"), 32, 4);
  EXPECT_EQ(budget.threads, 6);
  EXPECT_EQ(budget.reason, "SLURM_CPUS_PER_TASK=6");
}

TEST(ThreadBudget, CpusAreDividedAmongRanksSharingThem) {
  EXPECT_EQ(decide_threads(0, std::nullopt, 32, 4).threads, 8);
  EXPECT_EQ(decide_threads(0, std::nullopt, 7, 2).threads, 3);  // rounds down
  EXPECT_EQ(decide_threads(0, std::nullopt, 2, 4).threads, 1);  // never below one
  EXPECT_EQ(decide_threads(0, std::nullopt, 1, 1).threads, 1);  // a rank bound to its own core
}

TEST(ThreadBudget, GarbageInSlurmCpusPerTaskIsAnErrorNamingTheVariable) {
  for (const char* bad : {"", "abc", "0", "-2", "4x", "2.5"}) {
    try {
      decide_threads(0, std::string(bad), 8, 1);
      FAIL() << "accepted SLURM_CPUS_PER_TASK='" << bad << "'";
    } catch (const UserError& error) {
      EXPECT_NE(error.message().find("SLURM_CPUS_PER_TASK='" + std::string(bad) + "'"), std::string::npos)
          << error.message();
    }
  }
}

}  // namespace
}  // namespace atrous::distributed
