#include "atrous/train/train_options.h"

#include <algorithm>
#include <cmath>

#include "atrous/core/options.h"
#include "atrous/core/output_paths.h"
#include "atrous/observe/timeline.h"

namespace atrous::train {

void RunOptions::declare(OptionTable& table, RunOptions& options) {
  table.add("train.steps", &options.steps, 1000, "optimizer steps to train", "an integer >= 1");
  table.add("train.run_dir", &options.run_dir, std::string(), "where checkpoints, metrics and config go",
            "a folder");
  table.add(
      "train.resume", &options.resume, std::string("auto"),
      "auto: continue from RUN_DIR's latest checkpoint if any; none: start afresh (refused where RUN_DIR "
      "holds checkpoints); or a checkpoint",
      "auto, none, or a checkpoint file");
  table.add("train.log_every", &options.log_every, 10, "steps between progress lines and metrics",
            "an integer >= 1");
  table.add("train.accumulate_steps", &options.accumulate_steps, 1,
            "micro-batches per optimizer step, gradients communicated on the last only", "an integer >= 1");
  table.add("train.eval_every", &options.eval_every, 0,
            "evaluate on data.val every N steps and at the end (mIoU into metrics.jsonl); 0: never",
            "an integer >= 0");
  table.add("train.eval_every_epochs", &options.eval_every_epochs, 0.0,
            "evaluate on data.val every this many epochs (rounded to whole steps) and at the end; 0: never; "
            "not with train.eval_every",
            "a finite number >= 0");
  table.add("train.target_miou", &options.target_miou, 0.0,
            "stop once an evaluation's mIoU reaches this, and record when (RUN_DIR/target.json); needs "
            "train.eval_every or train.eval_every_epochs; 0: train all train.steps",
            "0, or a number in (0, 1]");
  table.add_choice(
      "train.precision", &options.precision, model::Precision::fp32,
      "the dtype of convolutions and matrix products (autocast): bf16 on CPUs with AVX512_BF16 and "
      "GPUs, fp16 on GPUs (with dynamic loss scaling); weights, optimizer state and loss stay float32",
      model::precision_choices());
  table.add("train.tf32", &options.tf32, true,
            "GPUs: TensorFloat-32 in float32 convolutions and matrix products (false for exact float32)",
            "true or false");
  table.add("train.cudnn_benchmark", &options.cudnn_benchmark, true,
            "GPUs: let cuDNN time its convolution algorithms per input shape and keep the fastest",
            "true or false");
  table.add("train.tensorboard", &options.tensorboard, true,
            "write TensorBoard event files to RUN_DIR/tensorboard (scalars at each log step, evaluations "
            "with predicted masks)",
            "true or false");
  table.add("train.tensorboard_images", &options.tensorboard_images, 3,
            "validation images shown (image | ground truth | prediction) at each evaluation in TensorBoard",
            "an integer >= 0");
  table.add("train.timeline", &options.timeline, std::string(),
            "write a Chrome trace of every rank's steps, buckets and collectives to this file (opens in "
            "Perfetto); empty: none",
            "a file path, or empty");
  table.add("train.timeline_steps", &options.timeline_steps, std::string("all"),
            "the steps train.timeline records", "all, or FIRST:LAST (1-based, inclusive)");
}

void RunOptions::validate() const {
  ATROUS_CHECK_OPTION(steps >= 1, "train.steps", steps, "an integer >= 1");
  ATROUS_CHECK_OPTION(!run_dir.empty(), "train.run_dir", run_dir, "a folder for checkpoints and metrics");
  ATROUS_CHECK_OPTION(log_every >= 1, "train.log_every", log_every, "an integer >= 1");
  ATROUS_CHECK_OPTION(eval_every >= 0, "train.eval_every", eval_every, "an integer >= 0");
  ATROUS_CHECK_OPTION(eval_every_epochs >= 0 && eval_every_epochs <= 1e6, "train.eval_every_epochs",
                      eval_every_epochs, "a finite number >= 0 (at most 1e6)");
  ATROUS_CHECK_OPTION(eval_every == 0 || eval_every_epochs == 0, "train.eval_every_epochs", eval_every_epochs,
                      to_text("0 when train.eval_every is given (", eval_every,
                              "): evaluate every N steps or every N epochs, not both"));
  ATROUS_CHECK_OPTION(target_miou == 0 || (target_miou > 0 && target_miou <= 1), "train.target_miou",
                      target_miou, "0, or a number in (0, 1] (a fraction: 0.85 for 85%)");
  ATROUS_CHECK_OPTION(target_miou == 0 || evaluates(), "train.target_miou", target_miou,
                      "0 unless the run evaluates: give train.eval_every or train.eval_every_epochs (and "
                      "data.val)");
  ATROUS_CHECK_OPTION(accumulate_steps >= 1, "train.accumulate_steps", accumulate_steps, "an integer >= 1");
  ATROUS_CHECK_OPTION(tensorboard_images >= 0, "train.tensorboard_images", tensorboard_images,
                      "an integer >= 0");
  observe::StepRange::parse(timeline_steps, "train.timeline_steps");
  // The timeline, written when the run ends, must not replace a file the run directory keeps.
  const std::string own = run_dir + "/";
  refuse_shared_outputs({{"train.timeline", timeline},
                         {"the run's metrics", own + "metrics.jsonl"},
                         {"the run's configuration", own + "config.ini"},
                         {"the run's checkpoint pointer", own + "checkpoints/latest"},
                         {"the run's target record", own + "target.json"}});
}

int64_t RunOptions::evaluation_period(double steps_per_epoch) const {
  if (eval_every > 0) return eval_every;
  if (eval_every_epochs <= 0) return 0;
  return std::max<int64_t>(1, int64_t(std::llround(eval_every_epochs * steps_per_epoch)));
}

void TrainerOptions::declare(OptionTable& table, TrainerOptions& options) {
  data::TrainingDataOptions::declare(table, options.data);
  RunOptions::declare(table, options.run);
  LrOptions::declare(table, options.lr);
  OptimizerOptions::declare(table, options.optim);
  CheckpointOptions::declare(table, options.checkpoint);
  model::ModelOptions::declare(table, options.model);
  model::WeightImportOptions::declare(table, options.init);
  loss::LossOptions::declare(table, options.loss);
  data::LoaderOptions::declare(table, options.loader);
  data::AugmentOptions::declare(table, options.augment);
  distributed::ReducerOptions::declare(table, options.reducer);
  distributed::CommunicatorOptions::declare(table, options.comm);
  distributed::SyncBatchNormOptions::declare(table, options.sync_bn);
}

}  // namespace atrous::train
