// What seeing a run costs, per event, on one core: the timeline's spans and collective events
// (observe/timeline.h), the stall inspector's bookkeeping of a wait (distributed/stall_inspector.h,
// on by default) and a TensorBoard log step (observe/event_file_writer.h: ~16 scalars, written and
// fsynced). bench/run-observe-bench multiplies these by what a real step does and compares the sum
// with the step's time; it also measures training with everything off and on, side by side.
//   build/bench/atrous_observe_bench [--dir /tmp] [--events 200000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "atrous/core/log.h"
#include "atrous/distributed/stall_inspector.h"
#include "atrous/observe/event_file_writer.h"
#include "atrous/observe/timeline.h"

using namespace atrous;
using Clock = std::chrono::steady_clock;

namespace {

template <class Body>
double nanoseconds_each(int count, Body body) {
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) body(i);
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / count;
}

struct Costs {
  double span_ns = 0, collective_ns = 0, idle_span_ns = 0, null_span_ns = 0, stall_ns = 0, log_step_ns = 0;
};

distributed::CollectiveLabel gradient_label() {
  distributed::CollectiveLabel label;
  label.collective = "allreduce";
  label.count = 262144;
  label.dtype = at::kFloat;
  label.purpose = distributed::CollectivePurpose::gradients;
  return label;
}

void measure_timeline(const std::string& dir, int events, Costs& costs) {
  observe::Timeline timeline(dir + "/trace.json", 0, "bench", observe::StepRange{});
  timeline.set_step(1);
  costs.span_ns =
      nanoseconds_each(events, [&](int) { const observe::TimelineSpan span(&timeline, "forward"); });
  const auto observer = timeline.observer("world");
  distributed::CollectiveLabel label = gradient_label();
  costs.collective_ns = nanoseconds_each(events, [&](int i) {
    label.sequence = uint64_t(i);
    const auto now = Clock::now();
    observer->wait_ended(
        label, {now, now + std::chrono::microseconds(50), now, now + std::chrono::microseconds(60)});
  });
  timeline.flush();
  timeline.set_step(0);  // outside the range: what the training step pays when it records nothing
  costs.idle_span_ns =
      nanoseconds_each(events, [&](int) { const observe::TimelineSpan span(&timeline, "x"); });
  costs.null_span_ns = nanoseconds_each(events, [&](int) { const observe::TimelineSpan span(nullptr, "x"); });
}

void measure_stall_inspector(const std::string& dir, int events, Costs& costs) {
  std::ostringstream out, err;
  Logger log(LogOptions{}, true, out, err);
  distributed::StallSettings settings;
  settings.directory = dir + "/stall";
  distributed::StallInspector inspector(settings, 0, 1, "bench", log);
  const auto stall = inspector.observer("world", distributed::CollectiveMembers{{0}, false});
  distributed::CollectiveLabel label = gradient_label();
  costs.stall_ns = nanoseconds_each(events, [&](int i) {
    label.sequence = uint64_t(i);
    stall->wait_started(label);
    stall->wait_ended(label, {});
  });
}

void measure_tensorboard(const std::string& dir, Costs& costs) {
  observe::EventFileWriter writer(dir + "/tb", "bench");
  std::vector<observe::ScalarValue> scalars;
  for (int s = 0; s < 16; ++s) scalars.push_back({"group/scalar_" + std::to_string(s), 0.5 * s});
  costs.log_step_ns = nanoseconds_each(200, [&](int step) {
    writer.add(step, scalars);
    writer.flush();
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp";
  int events = 200000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--dir")
      dir = argv[i + 1];
    else if (key == "--events")
      events = std::atoi(argv[i + 1]);
  }
  dir += "/atrous_observe_bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Costs costs;
  measure_timeline(dir, events, costs);
  measure_stall_inspector(dir, events, costs);
  measure_tensorboard(dir, costs);
  std::printf("observe bench (%d events each; one thread)\n", events);
  std::printf("  timeline span (recording)            %8.0f ns\n", costs.span_ns);
  std::printf("  timeline collective (wait + b + e)   %8.0f ns\n", costs.collective_ns);
  std::printf("  timeline span outside its steps      %8.1f ns\n", costs.idle_span_ns);
  std::printf("  no timeline (nullptr)                %8.1f ns\n", costs.null_span_ns);
  std::printf("  stall inspector, one wait            %8.0f ns\n", costs.stall_ns);
  std::printf("  TensorBoard log step (16 scalars, fsync) %8.0f us\n", costs.log_step_ns / 1000);
  std::printf("COSTS span_ns=%.1f collective_ns=%.1f stall_ns=%.1f log_step_us=%.1f\n", costs.span_ns,
              costs.collective_ns, costs.stall_ns, costs.log_step_ns / 1000);
  std::filesystem::remove_all(dir);
  return 0;
}
