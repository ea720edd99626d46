#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <numeric>

#include "atrous/core/environment.h"
#include "atrous/core/rank_label.h"
#include "mpi_test_world.h"

namespace atrous::distributed {
namespace {

using atrous::test_support::test_world;

std::vector<int> all_gather(int value, MPI_Comm comm) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  std::vector<int> values(size);
  MPI_Allgather(&value, 1, MPI_INT, values.data(), 1, MPI_INT, comm);
  return values;
}

TEST(World, RanksCoverTheJobExactlyOnce) {
  const World& world = test_world();
  int mpi_rank = -1, mpi_size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
  EXPECT_EQ(world.rank(), mpi_rank);
  EXPECT_EQ(world.size(), mpi_size);
  std::vector<int> ranks = all_gather(world.rank(), MPI_COMM_WORLD);
  std::vector<int> expected(mpi_size);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(ranks, expected);
  EXPECT_EQ(world.is_root(), mpi_rank == 0);
}

TEST(World, OwnCommunicatorIsADuplicateOfTheWorld) {
  int comparison = MPI_UNEQUAL;
  MPI_Comm_compare(test_world().comm(), MPI_COMM_WORLD, &comparison);
  EXPECT_EQ(comparison, MPI_CONGRUENT);  // same ranks, separate context
}

TEST(World, LocalRanksOnOneMachine) {
  // ctest starts every rank on this machine: one node, local rank = rank.
  const World& world = test_world();
  EXPECT_EQ(world.node_count(), 1);
  EXPECT_EQ(world.local_size(), world.size());
  EXPECT_EQ(world.local_rank(), world.rank());
  std::vector<int> local = all_gather(world.local_rank(), MPI_COMM_WORLD);
  std::sort(local.begin(), local.end());
  for (int i = 0; i < world.size(); ++i) EXPECT_EQ(local[i], i);
}

TEST(World, HostAndRankLabel) {
  const World& world = test_world();
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  EXPECT_EQ(world.host(), host);
  EXPECT_EQ(rank_label().text(),
            "[rank " + std::to_string(world.rank()) + "/" + std::to_string(world.size()) + " " + host + "]");
}

TEST(World, ThreadsFollowTheBudgetAndReachLibTorch) {
  const World& world = test_world();
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof(mine), &mine), 0);
  EXPECT_EQ(world.cpus_available(), CPU_COUNT(&mine));
  EXPECT_GE(world.ranks_sharing_cpus(), 1);
  EXPECT_LE(world.ranks_sharing_cpus(), world.local_size());
  int expected = std::max(1, world.cpus_available() / world.ranks_sharing_cpus());
  if (auto slurm = environment_variable("SLURM_CPUS_PER_TASK")) expected = std::stoi(*slurm);
  EXPECT_EQ(world.threads(), expected) << world.thread_budget().reason;
  EXPECT_EQ(at::get_num_threads(), world.threads());
  // More ranks than cpus on this machine: then each rank must get one thread.
  if (world.local_size() >= static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) &&
      !environment_variable("SLURM_CPUS_PER_TASK")) {
    EXPECT_EQ(world.threads(), 1);
  }
}

TEST(World, ThreadLevelIsEnoughForACommunicationThread) {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  EXPECT_EQ(test_world().thread_level(), provided);
  EXPECT_EQ(provided, MPI_THREAD_MULTIPLE);
}

TEST(World, DeviceIsCpuWhenDistDeviceSaysCpu) {
  // The test runner asks for dist.device=cpu (the GPU tests pick their GPUs themselves).
  EXPECT_TRUE(test_world().device().is_cpu());
}

TEST(World, GatherToRootCollectsEveryRanksTextInOrder) {
  const World& world = test_world();
  std::string mine(static_cast<size_t>(world.rank()), 'x');  // rank 0 sends an empty text
  mine += "r" + std::to_string(world.rank());
  std::vector<std::string> texts = world.gather_to_root(mine);
  if (!world.is_root()) {
    EXPECT_TRUE(texts.empty());
    return;
  }
  ASSERT_EQ(static_cast<int>(texts.size()), world.size());
  for (int r = 0; r < world.size(); ++r)
    EXPECT_EQ(texts[r], std::string(static_cast<size_t>(r), 'x') + "r" + std::to_string(r));
}

}  // namespace
}  // namespace atrous::distributed
