#include "atrous/train/checkpoint_policy.h"

namespace atrous::train {

const char* checkpoint_reason_name(CheckpointReason reason) {
  switch (reason) {
    case CheckpointReason::none:
      return "none";
    case CheckpointReason::preempted:
      return "preempted";
    case CheckpointReason::final:
      return "final";
    case CheckpointReason::every_steps:
      return "every_steps";
    case CheckpointReason::every_minutes:
      return "every_minutes";
  }
  return "?";
}

bool checkpoint_time_due(const CheckpointOptions& options, double seconds_since_last) {
  return options.every_minutes > 0 && seconds_since_last >= 60 * options.every_minutes;
}

CheckpointReason checkpoint_due(const CheckpointOptions& options, int64_t step, int64_t total_steps,
                                bool time_due, bool preempted) {
  if (preempted) return CheckpointReason::preempted;
  if (step == total_steps) return CheckpointReason::final;
  if (options.every_steps > 0 && step % options.every_steps == 0) return CheckpointReason::every_steps;
  if (time_due) return CheckpointReason::every_minutes;
  return CheckpointReason::none;
}

}  // namespace atrous::train
