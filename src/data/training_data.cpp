#include "atrous/data/training_data.h"

#include "atrous/core/options.h"

namespace atrous::data {

void TrainingDataOptions::declare(OptionTable& table, TrainingDataOptions& options) {
  table.add("data.train", &options.train_pack, std::string(), "the training pack (atrous pack)",
            "an HDF5 pack");
  table.add("data.val", &options.val_pack, std::string(),
            "the validation pack of train.eval_every and train.eval_every_epochs", "an HDF5 pack, or empty");
  table.add_choice("data.remainder", &options.remainder, ShardRemainder::drop,
                   "samples that do not divide among the ranks: drop them, or pad with repeats",
                   shard_remainder_choices());
}

void TrainingDataOptions::validate(bool needs_val) const {
  ATROUS_CHECK_OPTION(!train_pack.empty(), "data.train", train_pack,
                      "the training pack written by atrous pack");
  ATROUS_CHECK_OPTION(!needs_val || !val_pack.empty(), "data.val", val_pack,
                      "a validation pack when train.eval_every or train.eval_every_epochs is set");
}

}  // namespace atrous::data
