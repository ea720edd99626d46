#include <gtest/gtest.h>

#include "atrous/distributed/bucket_plan.h"

namespace atrous::distributed {
namespace {

using Buckets = std::vector<std::vector<int64_t>>;

TEST(BucketPlan, ReverseOrderSmallFirstBucketThenFullOnes) {
  // Parameters of 4, 4, 4, 4, 4, 4 bytes; first bucket 8 bytes, later ones 12.
  EXPECT_EQ(plan_buckets({4, 4, 4, 4, 4, 4}, 8, 12), (Buckets{{5, 4}, {3, 2, 1}, {0}}));
}

TEST(BucketPlan, OversizedGradientsGetABucketOfTheirOwnAndAreNeverSplit) {
  EXPECT_EQ(plan_buckets({2, 100, 2, 2}, 4, 10), (Buckets{{3, 2}, {1}, {0}}));
  EXPECT_EQ(plan_buckets({100}, 4, 10), (Buckets{{0}}));
  EXPECT_EQ(plan_buckets({}, 4, 10), Buckets{});
}

TEST(BucketPlan, EverythingInOneBucketWhenItFits) {
  EXPECT_EQ(plan_buckets({1, 1, 1}, 1 << 20, 25 << 20), (Buckets{{2, 1, 0}}));
}

}  // namespace
}  // namespace atrous::distributed
