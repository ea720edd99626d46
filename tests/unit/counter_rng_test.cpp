#include <gtest/gtest.h>

#include <map>
#include <set>

#include "atrous/core/counter_rng.h"

namespace atrous {
namespace {

// Known-answer vectors of Philox4x32-10 published with Random123 (kat_vectors).
TEST(Philox, MatchesRandom123KnownAnswers) {
  using Block = std::array<uint32_t, 4>;
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (Block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (Block{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (Block{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(CounterRng, SameKeySameStreamWhateverHappenedBefore) {
  CounterRng first(7, 3, 12345);
  std::vector<uint32_t> draws;
  for (int i = 0; i < 10; ++i) draws.push_back(first.next_u32());
  CounterRng other(99, 0, 1);  // unrelated draws in between change nothing
  for (int i = 0; i < 5; ++i) other.next_u32();
  CounterRng again(7, 3, 12345);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(again.next_u32(), draws[i]) << i;
}

TEST(CounterRng, DifferentKeysGiveDifferentStreams) {
  std::set<uint32_t> firsts;
  for (uint64_t seed : {0, 1})
    for (uint64_t epoch : {0, 1})
      for (uint64_t index : {0ull, 1ull, 1ull << 32})
        for (uint32_t purpose : {0u, 1u}) firsts.insert(CounterRng(seed, epoch, index, purpose).next_u32());
  EXPECT_EQ(firsts.size(), 24u);
}

TEST(CounterRng, UniformAndBoundedDrawsAreInRangeAndRoughlyFlat) {
  CounterRng rng(1, 2, 3);
  std::map<uint64_t, int> counts;
  double sum = 0;
  for (int i = 0; i < 70000; ++i) {
    const float u = rng.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
    const uint64_t k = rng.below(7);
    ASSERT_LT(k, 7u);
    ++counts[k];
  }
  EXPECT_NEAR(sum / 70000, 0.5, 0.01);
  for (const auto& [value, count] : counts) EXPECT_NEAR(count, 10000, 500) << value;
  EXPECT_LT(rng.below(1ull << 40), 1ull << 40);
}

}  // namespace
}  // namespace atrous
