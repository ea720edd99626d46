#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "atrous/core/error.h"
#include "atrous/data/shard_sampler.h"

namespace atrous::data {
namespace {

TEST(ShardSampler, ShardsPartitionEveryEpochExactly) {
  for (int world : {1, 2, 3, 4}) {
    for (uint64_t epoch : {0, 1, 7}) {
      std::multiset<int64_t> seen;
      for (int rank = 0; rank < world; ++rank) {
        ShardSampler sampler(24, 5, rank, world, ShardRemainder::drop);
        auto mine = sampler.indices(epoch);
        EXPECT_EQ(static_cast<int64_t>(mine.size()), 24 / world);
        seen.insert(mine.begin(), mine.end());
      }
      std::multiset<int64_t> all;
      for (int64_t i = 0; i < 24; ++i) all.insert(i);
      EXPECT_EQ(seen, all) << "world " << world << " epoch " << epoch;
    }
  }
}

TEST(ShardSampler, GlobalBatchIsTheSameSamplesWhateverTheNumberOfRanks) {
  // Step s of N ranks x b reads positions [s N b, (s + 1) N b) of the shared permutation.
  const int64_t samples = 40, batch_total = 8;
  ShardSampler one(samples, 3, 0, 1, ShardRemainder::drop);
  const auto single = one.indices(2);
  for (int world : {2, 4}) {
    const int64_t per_rank = batch_total / world;
    for (int64_t step = 0; step < samples / batch_total; ++step) {
      std::set<int64_t> global;
      for (int rank = 0; rank < world; ++rank) {
        auto mine = ShardSampler(samples, 3, rank, world, ShardRemainder::drop).indices(2);
        global.insert(mine.begin() + step * per_rank, mine.begin() + (step + 1) * per_rank);
      }
      std::set<int64_t> expected(single.begin() + step * batch_total,
                                 single.begin() + (step + 1) * batch_total);
      EXPECT_EQ(global, expected) << "world " << world << " step " << step;
    }
  }
}

TEST(ShardSampler, PermutationDependsOnSeedAndEpochOnly) {
  ShardSampler a(100, 11, 0, 1, ShardRemainder::drop), b(100, 11, 0, 1, ShardRemainder::drop);
  EXPECT_EQ(a.permutation(4), b.permutation(4));
  EXPECT_NE(a.permutation(4), a.permutation(5));
  EXPECT_NE(a.permutation(4), ShardSampler(100, 12, 0, 1, ShardRemainder::drop).permutation(4));
  auto order = a.permutation(4);
  std::sort(order.begin(), order.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(ShardSampler(5, 1, 0, 1, ShardRemainder::drop, /*shuffle=*/false).permutation(3),
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(ShardSampler, DropAndPadGiveEveryRankTheSameCount) {
  // 10 samples on 4 ranks: drop reads 8 (2 each), pad reads 12 (3 each) reusing the first two.
  std::map<int64_t, int> dropped, padded;
  for (int rank = 0; rank < 4; ++rank) {
    auto d = ShardSampler(10, 9, rank, 4, ShardRemainder::drop).indices(0);
    auto p = ShardSampler(10, 9, rank, 4, ShardRemainder::pad).indices(0);
    EXPECT_EQ(d.size(), 2u);
    EXPECT_EQ(p.size(), 3u);
    for (auto i : d) ++dropped[i];
    for (auto i : p) ++padded[i];
  }
  EXPECT_EQ(dropped.size(), 8u);
  EXPECT_EQ(padded.size(), 10u);
  const auto order = ShardSampler(10, 9, 0, 1, ShardRemainder::drop).permutation(0);
  EXPECT_EQ(padded[order[0]], 2);
  EXPECT_EQ(padded[order[1]], 2);
}

TEST(ShardSampler, BadSetupsAreClearErrors) {
  EXPECT_THROW(ShardSampler(0, 1, 0, 1, ShardRemainder::drop), UserError);
  EXPECT_THROW(ShardSampler(3, 1, 0, 4, ShardRemainder::drop), UserError);
  EXPECT_NO_THROW(ShardSampler(3, 1, 3, 4, ShardRemainder::pad));
  EXPECT_THROW(parse_choice("data.remainder", shard_remainder_choices(), std::string("keep")), OptionError);
  EXPECT_EQ(parse_choice("data.remainder", shard_remainder_choices(), std::string("pad")), ShardRemainder::pad);
}

}  // namespace
}  // namespace atrous::data
