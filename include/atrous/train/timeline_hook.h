#pragma once
// TimelineHook: train.timeline's bookkeeping at the hook points (train/training_hook.h), on every
// rank: each step's events are flushed to the rank's part at the step's end, so a run that dies
// leaves a readable trace; at the end of the run (on_finish: also after a preemption checkpoint)
// every rank closes its part, the ranks meet in a barrier, and rank 0 merges the parts into the
// file (observe/timeline.h). Collective in on_finish. A trace that cannot be written or merged is a
// warning, never the end of the run.

#include <string>

#include "atrous/train/training_hook.h"

namespace atrous {
class Logger;
namespace distributed {
class Communicator;
}
namespace observe {
class Timeline;
}
}  // namespace atrous

namespace atrous::train {

class TimelineHook : public TrainingHook {
 public:
  // All must outlive the hook. file: train.timeline.
  TimelineHook(observe::Timeline& timeline, distributed::Communicator& comm, std::string file, Logger& log);

  void on_step_end(const StepOutcome& outcome) override;
  void on_finish(const RunEnd& end) override;

 private:
  observe::Timeline& timeline_;
  distributed::Communicator& comm_;
  std::string file_;
  Logger& log_;
};

}  // namespace atrous::train
