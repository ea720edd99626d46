#pragma once
// TrainingDataOptions: the packs `atrous train` reads (data.train, and data.val for train.eval_every)
// and how an epoch's samples that do not divide among the ranks are treated (data.remainder,
// data/shard_sampler.h). The per-batch options (batch size, readers, seed) are LoaderOptions
// (data/loader.h); augmentation is AugmentOptions (data/augmentation.h).

#include <string>

#include "atrous/data/shard_sampler.h"

namespace atrous {
class OptionTable;
}

namespace atrous::data {

struct TrainingDataOptions {
  std::string train_pack;                           // data.train
  std::string val_pack;                             // data.val: the validation pack of train.eval_every
  ShardRemainder remainder = ShardRemainder::drop;  // data.remainder

  static void declare(OptionTable& table, TrainingDataOptions& options);
  // needs_val: a validation pack is required (train.eval_every > 0).
  void validate(bool needs_val) const;
};

}  // namespace atrous::data
