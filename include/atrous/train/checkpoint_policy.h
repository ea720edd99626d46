#pragma once
// When the trainer writes a checkpoint, and why (the reason is logged with the file):
//   preempted      a preemption signal was agreed at this step: always, and the run then ends;
//   final          the last step (train.steps);
//   every_steps    the step is a multiple of ckpt.every_steps (> 0);
//   every_minutes  ckpt.every_minutes (> 0) have passed since the last checkpoint (or the start)
//                  by rank 0's clock (checkpoint_time_due on rank 0, agreed with the step:
//                  train/step_agreement.h), so that every rank takes the same decision.
// The first that applies, in this order, is the reason; none otherwise. A pure function of its
// arguments; every rank evaluates it on agreed values, rank 0 writes.

#include <cstdint>

#include "atrous/train/checkpoint.h"

namespace atrous::train {

enum class CheckpointReason { none, preempted, final, every_steps, every_minutes };

// "preempted", "final", "every_steps", "every_minutes" ("none" for none).
const char* checkpoint_reason_name(CheckpointReason reason);

// Whether ckpt.every_minutes (> 0) have passed: seconds since the last checkpoint (or the start).
bool checkpoint_time_due(const CheckpointOptions& options, double seconds_since_last);

// step: steps done; time_due: the agreed checkpoint_time_due.
CheckpointReason checkpoint_due(const CheckpointOptions& options, int64_t step, int64_t total_steps,
                                bool time_due, bool preempted);

}  // namespace atrous::train
