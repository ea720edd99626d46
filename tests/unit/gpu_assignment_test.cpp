#include <gtest/gtest.h>

#include "atrous/distributed/gpu_assignment.h"

namespace atrous::distributed {
namespace {

TEST(GpuAssignment, EachRankTakesTheGpuOfItsLocalRank) {
  for (int rank = 0; rank < 4; ++rank) {
    const GpuAssignment assigned = assign_gpu(rank, 4, 4, false);
    EXPECT_EQ(assigned.gpu, rank);
    EXPECT_TRUE(assigned.refusal.empty());
  }
  EXPECT_EQ(assign_gpu(1, 2, 8, false).gpu, 1);  // more GPUs than ranks: the first ones
}

TEST(GpuAssignment, FewerGpusThanRanksIsRefusedWithWhatToDo) {
  const GpuAssignment assigned = assign_gpu(1, 2, 1, false);
  EXPECT_EQ(assigned.gpu, -1);
  EXPECT_NE(assigned.refusal.find("1 GPU(s) visible for 2 ranks on this node (local rank 1)"),
            std::string::npos)
      << assigned.refusal;
  EXPECT_NE(assigned.refusal.find("dist.share_gpus"), std::string::npos) << assigned.refusal;
  // the rank whose GPU exists is refused too: started alone, it would wait for the others
  EXPECT_EQ(assign_gpu(0, 2, 1, false).gpu, -1);
}

TEST(GpuAssignment, SharedGpusGoRoundRobin) {
  EXPECT_EQ(assign_gpu(0, 3, 1, true).gpu, 0);
  EXPECT_EQ(assign_gpu(2, 3, 1, true).gpu, 0);
  EXPECT_EQ(assign_gpu(3, 4, 2, true).gpu, 1);
  EXPECT_EQ(assign_gpu(2, 4, 2, true).gpu, 0);
}

TEST(GpuAssignment, NoVisibleGpuIsRefusedEvenWhenSharing) {
  for (bool share : {false, true}) {
    const GpuAssignment assigned = assign_gpu(0, 1, 0, share);
    EXPECT_EQ(assigned.gpu, -1);
    EXPECT_NE(assigned.refusal.find("no GPU is visible"), std::string::npos);
  }
}

}  // namespace
}  // namespace atrous::distributed
