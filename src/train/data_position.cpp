#include "atrous/train/data_position.h"

#include "atrous/core/error.h"
#include "atrous/core/log.h"

namespace atrous::train {

void DataPosition::save(SectionValues& out) const {
  out.set("seed", seed_);
  out.set("world_size", int64_t(world_size_));
  out.set("epoch", epoch_);
  out.set("position", position_);
}

void DataPosition::restore(const SectionValues& values) {
  const std::string& path = values.file();
  const int64_t seed = values.integer("seed"), world_size = values.integer("world_size");
  const int64_t epoch = values.integer("epoch"), position = values.integer("position");
  if (epoch < 0 || position < 0 || world_size < 1)
    throw UserError(to_text("'", path, "' is not an atrous checkpoint this build reads: epoch ", epoch,
                            ", position ", position, " and world_size ", world_size,
                            " are not a training position (each >= 0, world_size >= 1)"),
                    ATROUS_HERE);
  if (seed != seed_)
    throw UserError(to_text("checkpoint '", path, "' was trained with data.seed = ", seed, ", not ", seed_,
                            "; resume with the same seed, or start afresh in a new train.run_dir"),
                    ATROUS_HERE);
  epoch_ = epoch;
  position_ = position;
  if (world_size == world_size_) return;
  const int64_t consumed = position * world_size;
  if (consumed % world_size_ != 0)
    throw UserError(
        to_text("checkpoint '", path, "' was written by ", world_size, " ranks ", position,
                " samples into epoch ", epoch, "; those do not divide among ", world_size_,
                " ranks. Resume with ", world_size, " ranks, or from a checkpoint at an epoch start"),
        ATROUS_HERE);
  position_ = consumed / world_size_;
  log_.warn("resuming a run of ", world_size, " ranks on ", world_size_,
            " ranks: same samples, but batch norm and loss statistics now cover a different global batch");
}

}  // namespace atrous::train
