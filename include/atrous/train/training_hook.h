#pragma once
// TrainingHook: where features plug into the training loop without touching it (progress and
// metrics, evaluation, and later TensorBoard, a timeline, ...), in the spirit of Caffe's solver
// callbacks.
//
// The loop (train/trainer.h) calls every hook on EVERY rank, in the order they were added, at:
//   on_start       once, before the first step of this process (after a resume too);
//   on_step_end    after each step whose weights were updated, with what the step did;
//   on_checkpoint  after a checkpoint was written (path on rank 0, empty elsewhere);
//   on_finish      once, after the last step or the preemption checkpoint, before run() returns.
// A hook that runs collectives (an evaluation) relies on that: every rank calls it in the same
// order. A hook that only records (progress, files) does its work on rank 0 and nothing elsewhere.
// A hook must not change the weights or the optimizer; an exception from a hook ends the run like
// any other error. After each step's on_step_end the trainer asks every hook stop_requested(): when
// one says yes (train.target_miou reached: train/target_miou.h), the final checkpoint is written and
// the run ends. The answer must be the same on every rank.

#include <cstdint>
#include <string>

#include "atrous/train/checkpoint_policy.h"
#include "atrous/train/training_step.h"

namespace atrous::train {

struct RunStart {
  int64_t step = 0;         // steps already done (from a checkpoint, or 0)
  int64_t total_steps = 0;  // train.steps
};

struct CheckpointWritten {
  int64_t step = 0;
  CheckpointReason reason = CheckpointReason::final;
  std::string path;  // rank 0: the file written; other ranks: empty
};

struct RunEnd {
  int64_t step = 0;
  bool preempted = false;
};

class TrainingHook {
 public:
  virtual ~TrainingHook() = default;
  virtual void on_start(const RunStart& start) { (void)start; }
  virtual void on_step_end(const StepOutcome& outcome) { (void)outcome; }
  virtual void on_checkpoint(const CheckpointWritten& checkpoint) { (void)checkpoint; }
  virtual void on_finish(const RunEnd& end) { (void)end; }
  virtual bool stop_requested() const { return false; }
};

}  // namespace atrous::train
