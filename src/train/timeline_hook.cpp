#include "atrous/train/timeline_hook.h"

#include "atrous/core/error.h"
#include "atrous/core/log.h"
#include "atrous/distributed/communicator.h"
#include "atrous/observe/timeline.h"

namespace atrous::train {

TimelineHook::TimelineHook(observe::Timeline& timeline, distributed::Communicator& comm, std::string file,
                           Logger& log)
    : timeline_(timeline), comm_(comm), file_(std::move(file)), log_(log) {}

void TimelineHook::on_step_end(const StepOutcome& outcome) {
  (void)outcome;
  timeline_.flush();
}

void TimelineHook::on_finish(const RunEnd& end) {
  (void)end;
  timeline_.close();
  comm_.barrier()->wait();  // every part is complete
  if (comm_.rank() != 0) return;
  const std::vector<std::string> missing = observe::merge_timeline_parts(file_, comm_.size());
  for (const std::string& part : missing)
    log_.warn("timeline: ", part, " is missing (the ranks do not share that directory?); left out of ",
              file_);
  log_.info("timeline of ", comm_.size(), " ranks in ", file_,
            " (open it in ui.perfetto.dev or chrome://tracing)");
}

}  // namespace atrous::train
