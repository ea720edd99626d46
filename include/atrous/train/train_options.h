#pragma once
// The options of `atrous train`, one struct per component (STYLE.md), gathered so that the train
// command and the tests declare them in one call. Each component validates its own.

#include <string>

#include "atrous/data/augmentation.h"
#include "atrous/data/loader.h"
#include "atrous/distributed/communicator.h"
#include "atrous/distributed/grad_reducer.h"
#include "atrous/loss/segmentation_loss.h"
#include "atrous/model/model_options.h"
#include "atrous/model/weight_import.h"
#include "atrous/train/checkpoint.h"
#include "atrous/train/lr_schedule.h"
#include "atrous/train/optimizer.h"

namespace atrous::train {

struct RunOptions {
  std::string train_pack;          // data.train
  std::string val_pack;            // data.val: the validation pack of train.eval_every
  std::string remainder = "drop";  // data.remainder: drop or pad (data/shard_sampler.h)
  int steps = 1000;                // train.steps: optimizer steps
  std::string run_dir;             // train.run_dir
  std::string resume = "auto";     // train.resume: auto, none, or a checkpoint path
  int log_every = 10;              // train.log_every
  int accumulate_steps = 1;        // train.accumulate_steps
  int eval_every = 0;              // train.eval_every: 0 = never
  bool freeze_bn = false;          // model.freeze_bn
  bool sync_bn = true;             // dist.sync_bn

  static void declare(OptionTable& table, RunOptions& options);
  void validate() const;
};

struct TrainerOptions {
  RunOptions run;
  LrOptions lr;
  SgdOptions sgd;
  CheckpointOptions checkpoint;
  model::ModelOptions model;
  model::WeightImportOptions init;
  loss::LossOptions loss;
  data::LoaderOptions loader;
  data::AugmentOptions augment;
  distributed::ReducerOptions reducer;
  distributed::CommunicatorOptions comm;

  static void declare(OptionTable& table, TrainerOptions& options);
};

}  // namespace atrous::train
