#pragma once
// Timeline: where each rank's time goes, step by step, as Chrome trace events: the JSON that
// Perfetto (ui.perfetto.dev) and chrome://tracing open. train.timeline FILE turns it on.
//
// Every rank streams its events to its own part, FILE.rank-<r>.part (created anew and never through
// a link: core/output_file.h's create_stream_file), one JSON object per line, each followed by a comma: a
// trace in the "JSON Array Format", readable even after a crash (the format allows the closing bracket to be
// missing). At the end of the run merge_timeline_parts() joins the parts into FILE through an OutputFile,
// {"traceEvents": [...], "displayTimeUnit": "ms"}, and removes them. Layout, one process (pid) per rank,
// named "rank r (host)":
//   thread 0 "training"     complete events ("ph": "X") of the training thread, properly nested:
//                           the phases of each step (data, forward, loss, backward, gradients,
//                           agreement, optimizer), checkpoint, evaluation; and inside them each
//                           wait for a collective ("wait <label>").
//   thread 1 "collectives"  every collective from its issue to its completion, as async events
//                           ("ph": "b"/"e", id = rank, communicator and sequence number): collectives
//                           overlap each other and the training thread's phases — the gradient
//                           buckets run while backward goes on — so they cannot nest on a thread.
//                           Completion is when the communicator's thread finished it (MPI); for
//                           backends that do not record it (NCCL, the calling thread), when a wait
//                           saw it done.
// Times are microseconds of the system clock (ts: since the Unix epoch), so ranks of several nodes
// line up as far as their clocks agree (NTP: typically well under a millisecond).
// On a GPU the spans are host time: forward and backward show the launching of kernels, and the
// GPU's time appears in whatever waits for it next (a wait, the agreement's read of the loss).
// Steps outside the recorded range (set_step) record nothing; with no timeline (a nullptr), the
// training step only tests a pointer. Events may be added from any thread; set_step() is the
// training thread's. A write that fails (a full disk) closes the part and throws once from flush();
// recording stops, the part written so far stays readable. The observers hold a reference: the
// timeline must outlive the communicators they are attached to.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "atrous/distributed/collective_observer.h"

namespace atrous::observe {

// train.timeline_steps: "all", or "FIRST:LAST" (1-based, inclusive).
struct StepRange {
  int64_t first = 1;
  int64_t last = INT64_MAX;
  // OptionError naming `option` for anything else.
  static StepRange parse(const std::string& text, const char* option);
  bool contains(int64_t step) const { return step >= first && step <= last; }
};

// FILE.rank-<r>.part
std::string timeline_part_path(const std::string& file, int rank);

class Timeline {
 public:
  using Clock = std::chrono::steady_clock;

  // Opens this rank's part (UserError naming it when it cannot be written).
  Timeline(const std::string& file, int rank, const std::string& host, StepRange steps);
  ~Timeline();
  Timeline(const Timeline&) = delete;
  Timeline& operator=(const Timeline&) = delete;

  // The step about to run (1-based): recording follows whether the range holds it.
  void set_step(int64_t step);
  bool recording() const { return recording_; }

  // A complete event on the training thread.
  void span(const std::string& name, Clock::time_point begin, Clock::time_point end);
  // The observer to attach to a communicator (Communicator::add_observer); `communicator` names it.
  std::shared_ptr<distributed::CollectiveObserver> observer(const std::string& communicator);

  // Writes what is buffered to the part (UserError on failure).
  void flush();
  // Flushes and closes the part; later events are dropped.
  void close();
  const std::string& part_path() const { return part_path_; }

 private:
  friend class TimelineObserver;
  void write_event(const std::string& json);
  int64_t microseconds(Clock::time_point when) const;

  std::string part_path_;
  int rank_;
  StepRange steps_;
  std::atomic<bool> recording_{false};
  std::atomic<bool> open_{false};
  int64_t wall_offset_us_ = 0;  // system clock minus steady clock
  std::mutex mutex_;
  std::FILE* out_ = nullptr;
};

// The training thread's span from construction to destruction; nothing without a recording timeline.
class TimelineSpan {
 public:
  TimelineSpan(Timeline* timeline, const char* name)
      : timeline_(timeline && timeline->recording() ? timeline : nullptr), name_(name) {
    if (timeline_) begin_ = Timeline::Clock::now();
  }
  ~TimelineSpan() {
    if (timeline_) timeline_->span(name_, begin_, Timeline::Clock::now());
  }
  TimelineSpan(const TimelineSpan&) = delete;
  TimelineSpan& operator=(const TimelineSpan&) = delete;

 private:
  Timeline* timeline_;
  const char* name_;
  Timeline::Clock::time_point begin_;
};

// Joins the parts of ranks 0..world_size-1 into `file` (written atomically: a temporary file, then
// rename), then removes them. A missing part is skipped and named in the returned list. A line
// without its closing comma (an event cut short by a failed write) is left out, so the file is valid
// JSON whatever the parts hold.
std::vector<std::string> merge_timeline_parts(const std::string& file, int world_size);

}  // namespace atrous::observe
