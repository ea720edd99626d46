#pragma once
// TargetMiou: train.target_miou, the run's time to train. The way the field measures large-batch
// training (MLPerf HPC's time to a target IoU; epochs to a target quality per global batch) needs
// a run that stops when its validation mIoU first reaches the target and says when that was.
//
// The EvaluationHook (train/evaluation_hook.h) hands it every evaluation's summary on every rank;
// the mIoU comes from a confusion matrix summed over all ranks, so every rank sees the same value
// and they all request the stop at the same step (stop_requested(): the trainer then writes the
// final checkpoint and ends the run). Rank 0 records, after each evaluation, RUN_DIR/target.json:
//   {"target_miou": 0.85, "reached": true, "step": 1200, "epoch": 3.2, "images": 38400,
//    "wall_s": 312.5, "miou": 0.853, "best_miou": 0.853, "best_step": 1200, "evaluations": 8}
// step, epoch, images, wall_s and miou are those of the first evaluation at or above the target
// (null while it is not reached); epoch = images / images per epoch (all ranks' samples of one epoch
// of the training pack); wall_s counts from the start of training in this process (the segments
// before a resumption are not included). At the end rank 0 logs one line:
//   target mIoU 85.0% reached at step 1200: epoch 3.20, 38400 images, 5m12s of training
//   target mIoU 85.0% not reached in 1500 steps (4.00 epochs); best 83.1% at step 1400

#include <chrono>
#include <cstdint>

#include "atrous/train/evaluation_summary.h"
#include "atrous/train/training_hook.h"

namespace atrous {
class Logger;
}

namespace atrous::train {

class RunDirectory;

class TargetMiou : public TrainingHook {
 public:
  // target in (0, 1]; images_per_epoch > 0; run_dir: rank 0's, nullptr elsewhere.
  TargetMiou(double target, int64_t images_per_epoch, RunDirectory* run_dir, Logger& log);

  void on_start(const RunStart& start) override;
  void on_finish(const RunEnd& end) override;
  bool stop_requested() const override { return reached_; }

  // One evaluation after the step `outcome` describes (every rank).
  void record(const StepOutcome& outcome, const EvaluationSummary& summary);

 private:
  void write_record() const;

  double target_;
  int64_t images_per_epoch_;
  RunDirectory* run_dir_;
  Logger& log_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  bool reached_ = false;
  int64_t evaluations_ = 0;
  int64_t last_step_ = 0, last_images_ = 0;
  double best_miou_ = -1;
  int64_t best_step_ = 0;
  // the first evaluation at or above the target
  int64_t step_ = 0, images_ = 0;
  double wall_s_ = 0, miou_ = 0;
};

}  // namespace atrous::train
