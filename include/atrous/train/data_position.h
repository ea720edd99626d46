#pragma once
// Where a run is in its data, as a checkpoint keeps it (section "data", train/checkpoint.h): the
// seed and the world size that define the sample order (data/shard_sampler.h), the epoch, and the
// position: the samples of that epoch each rank has consumed.
//
// restore() refuses another data.seed (the sample order would differ). A checkpoint of another world
// size resumes at the same samples when those consumed in the epoch (position x its world size)
// divide evenly among this run's ranks, with a warning that batch norm and the loss now see another
// global batch; otherwise it is refused, saying how to resume. Negative values are refused: no run
// writes them.

#include <cstdint>

#include "atrous/train/checkpoint_section.h"

namespace atrous {
class Logger;
}

namespace atrous::train {

class DataPosition final : public CheckpointSection {
 public:
  DataPosition(int64_t seed, int world_size, Logger& log) : seed_(seed), world_size_(world_size), log_(log) {}

  int64_t epoch() const { return epoch_; }
  int64_t position() const { return position_; }
  // The training loop's place, recorded before each checkpoint.
  void advance_to(int64_t epoch, int64_t position) {
    epoch_ = epoch;
    position_ = position;
  }

  void save(SectionValues& out) const override;
  void restore(const SectionValues& values) override;

 private:
  int64_t seed_;
  int world_size_;
  Logger& log_;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
};

}  // namespace atrous::train
