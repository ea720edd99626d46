#pragma once
// The options of `atrous train`, one struct per component, each declared and validated by the layer
// that owns its prefix, gathered so that the train command and the tests declare them in one call.
// RunOptions are the train layer's own: train.*.

#include <string>

#include "atrous/data/augmentation.h"
#include "atrous/data/loader.h"
#include "atrous/data/training_data.h"
#include "atrous/distributed/communicator.h"
#include "atrous/distributed/grad_reducer.h"
#include "atrous/distributed/sync_batch_norm_group.h"
#include "atrous/loss/segmentation_loss.h"
#include "atrous/model/model_options.h"
#include "atrous/model/precision.h"
#include "atrous/model/weight_import.h"
#include "atrous/train/checkpoint.h"
#include "atrous/train/lr_schedule.h"
#include "atrous/train/optimizer.h"

namespace atrous::train {

struct RunOptions {
  int steps = 1000;                                     // train.steps: optimizer steps
  std::string run_dir;                                  // train.run_dir
  std::string resume = "auto";                          // train.resume: auto, none, or a checkpoint path
  int log_every = 10;                                   // train.log_every
  int accumulate_steps = 1;                             // train.accumulate_steps
  int eval_every = 0;                                   // train.eval_every: 0 = never (needs data.val)
  double eval_every_epochs = 0;  // train.eval_every_epochs: 0 = never; not with eval_every (needs data.val)
  double target_miou = 0;        // train.target_miou: stop once an evaluation reaches it; 0 = never
  model::Precision precision = model::Precision::fp32;  // train.precision (model/precision.h)
  bool tf32 = true;                    // train.tf32: TensorFloat-32 in cuDNN convolutions and cuBLAS products
  bool cudnn_benchmark = true;         // train.cudnn_benchmark: cuDNN times its algorithms per shape
  bool tensorboard = true;             // train.tensorboard: RUN_DIR/tensorboard (train/training_report.h)
  int tensorboard_images = 3;          // train.tensorboard_images: predictions shown at each evaluation
  std::string timeline;                // train.timeline: a Chrome trace file (observe/timeline.h); "" = none
  std::string timeline_steps = "all";  // train.timeline_steps: all, or FIRST:LAST

  static void declare(OptionTable& table, RunOptions& options);
  void validate() const;
  // train.eval_every or train.eval_every_epochs is set: the run evaluates on data.val.
  bool evaluates() const { return eval_every > 0 || eval_every_epochs > 0; }
  // The steps between evaluations: train.eval_every, or train.eval_every_epochs x steps_per_epoch
  // rounded to the nearest step (at least 1); 0 when the run does not evaluate.
  int64_t evaluation_period(double steps_per_epoch) const;
};

struct TrainerOptions {
  data::TrainingDataOptions data;
  RunOptions run;
  LrOptions lr;
  OptimizerOptions optim;
  CheckpointOptions checkpoint;
  model::ModelOptions model;
  model::WeightImportOptions init;
  loss::LossOptions loss;
  data::LoaderOptions loader;
  data::AugmentOptions augment;
  distributed::ReducerOptions reducer;
  distributed::CommunicatorOptions comm;
  distributed::SyncBatchNormOptions sync_bn;

  static void declare(OptionTable& table, TrainerOptions& options);
};

}  // namespace atrous::train
