#pragma once
// ShardSampler: which samples of a pack each rank reads in an epoch.
//
// Every epoch has one permutation of the N samples, the same on every rank: a Fisher-Yates shuffle
// drawn from CounterRng(seed, epoch), so it depends on nothing but (seed, epoch). Rank r takes
// positions r, r + world, r + 2 world, ... of it, so the ranks' shards partition the epoch and a
// global batch of N ranks x b holds the same samples as one rank's batch of N x b would.
// Every rank must get the same number of samples (collectives would otherwise stop matching):
//   drop  the last N mod world samples of the permutation are left out this epoch;
//   pad   the permutation is extended from its start until N is a multiple of world.
// A resumed run continues from (epoch, position): indices(epoch) is recomputed and read from
// `position` on.

#include <cstdint>
#include <string>
#include <vector>

#include "atrous/core/options.h"

namespace atrous::data {

enum class ShardRemainder { drop, pad };

// The names of data.remainder: drop, pad.
const ChoiceValues<ShardRemainder>& shard_remainder_choices();

class ShardSampler {
 public:
  // samples > 0, 0 <= rank < world. shuffle = false keeps the pack's order (evaluation).
  ShardSampler(int64_t samples, uint64_t seed, int rank, int world, ShardRemainder remainder,
               bool shuffle = true);

  // This rank's sample indices for `epoch`, in the order it reads them.
  std::vector<int64_t> indices(uint64_t epoch) const;
  // How many samples every rank reads per epoch.
  int64_t samples_per_rank() const;
  // The shared permutation of an epoch (all ranks alike).
  std::vector<int64_t> permutation(uint64_t epoch) const;

 private:
  int64_t samples_;
  uint64_t seed_;
  int rank_, world_;
  ShardRemainder remainder_;
  bool shuffle_;
};

}  // namespace atrous::data
