#include "atrous/data/shard_sampler.h"

#include <numeric>

#include "atrous/core/counter_rng.h"
#include "atrous/core/error.h"

namespace atrous::data {
namespace {

constexpr uint32_t permutation_stream = 0x5348;  // "SH": the sampler's own stream of (seed, epoch)

}  // namespace

const ChoiceValues<ShardRemainder>& shard_remainder_choices() {
  static const ChoiceValues<ShardRemainder> choices{{"drop", ShardRemainder::drop},
                                                    {"pad", ShardRemainder::pad}};
  return choices;
}

ShardSampler::ShardSampler(int64_t samples, uint64_t seed, int rank, int world, ShardRemainder remainder,
                           bool shuffle)
    : samples_(samples), seed_(seed), rank_(rank), world_(world), remainder_(remainder), shuffle_(shuffle) {
  ATROUS_CHECK(samples > 0, "the dataset has no samples");
  ATROUS_ASSERT(world > 0 && rank >= 0 && rank < world, "rank ", rank, " of ", world);
  ATROUS_CHECK(remainder == ShardRemainder::pad || samples >= world, "the dataset's ", samples,
               " samples cannot give each of ", world, " ranks one; use fewer ranks or pad");
}

std::vector<int64_t> ShardSampler::permutation(uint64_t epoch) const {
  std::vector<int64_t> order(samples_);
  std::iota(order.begin(), order.end(), 0);
  if (!shuffle_) return order;
  CounterRng rng(seed_, epoch, /*index=*/0, permutation_stream);
  for (int64_t i = samples_ - 1; i > 0; --i)
    std::swap(order[i], order[rng.below(static_cast<uint64_t>(i) + 1)]);
  return order;
}

int64_t ShardSampler::samples_per_rank() const {
  return remainder_ == ShardRemainder::drop ? samples_ / world_ : (samples_ + world_ - 1) / world_;
}

std::vector<int64_t> ShardSampler::indices(uint64_t epoch) const {
  const std::vector<int64_t> order = permutation(epoch);
  std::vector<int64_t> mine;
  const int64_t count = samples_per_rank();
  for (int64_t k = 0; k < count; ++k) mine.push_back(order[(rank_ + k * world_) % samples_]);
  return mine;
}

}  // namespace atrous::data
