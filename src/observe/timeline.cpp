#include "atrous/observe/timeline.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "atrous/core/error.h"
#include "atrous/core/json.h"
#include "atrous/core/options.h"
#include "atrous/core/output_file.h"

namespace atrous::observe {
namespace {

constexpr int training_thread = 0;
constexpr int collectives_thread = 1;

// Waits shorter than this are left out of the trace: they say nothing and would fill it.
constexpr auto shortest_wait = std::chrono::microseconds(5);

}  // namespace

StepRange StepRange::parse(const std::string& text, const char* option) {
  if (text == "all") return StepRange{};
  const size_t colon = text.find(':');
  StepRange range;
  try {
    size_t used_first = 0, used_last = 0;
    if (colon == std::string::npos) throw std::invalid_argument(text);
    const std::string first = text.substr(0, colon), last = text.substr(colon + 1);
    range.first = std::stoll(first, &used_first);
    range.last = std::stoll(last, &used_last);
    if (used_first != first.size() || used_last != last.size()) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    ATROUS_CHECK_OPTION(false, option, text, "all, or FIRST:LAST (steps, 1-based, inclusive)");
  }
  ATROUS_CHECK_OPTION(range.first >= 1 && range.last >= range.first, option, text,
                      "all, or FIRST:LAST with 1 <= FIRST <= LAST");
  return range;
}

std::string timeline_part_path(const std::string& file, int rank) {
  return to_text(file, ".rank-", rank, ".part");
}

Timeline::Timeline(const std::string& file, int rank, const std::string& host, StepRange steps)
    : part_path_(timeline_part_path(file, rank)), rank_(rank), steps_(steps) {
  const auto wall = std::chrono::system_clock::now().time_since_epoch();
  const auto steady = Clock::now().time_since_epoch();
  wall_offset_us_ = std::chrono::duration_cast<std::chrono::microseconds>(wall).count() -
                    std::chrono::duration_cast<std::chrono::microseconds>(steady).count();
  const int descriptor = create_stream_file(part_path_, "give train.timeline a path in a writable directory");
  out_ = ::fdopen(descriptor, "w");
  if (out_ == nullptr) {
    ::close(descriptor);
    throw UserError(to_text("cannot write the timeline part '", part_path_, "': ", std::strerror(errno)),
                    ATROUS_HERE);
  }
  open_ = true;
  std::fputs("[\n", out_);
  const std::string process = to_text("{\"ph\": \"M\", \"pid\": ", rank, ", ");
  write_event(process + "\"name\": \"process_name\", \"args\": {\"name\": " +
              json_string(to_text("rank ", rank, " (", host, ")")) + "}}");
  write_event(process +
              "\"name\": \"process_sort_index\", \"args\": {\"sort_index\": " + std::to_string(rank) + "}}");
  write_event(process + "\"tid\": 0, \"name\": \"thread_name\", \"args\": {\"name\": \"training\"}}");
  write_event(process + "\"tid\": 1, \"name\": \"thread_name\", \"args\": {\"name\": \"collectives\"}}");
  flush();
}

Timeline::~Timeline() {
  try {
    close();
  } catch (const std::exception&) {  // a destructor does not throw; close() reports it when called
  }
}

void Timeline::set_step(int64_t step) {
  recording_ = steps_.contains(step) && open_.load();
}

int64_t Timeline::microseconds(Clock::time_point when) const {
  return std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count() +
         wall_offset_us_;
}

void Timeline::span(const std::string& name, Clock::time_point begin, Clock::time_point end) {
  const int64_t start = microseconds(begin);
  const int64_t duration = std::max<int64_t>(0, microseconds(end) - start);
  write_event(to_text("{\"ph\": \"X\", \"pid\": ", rank_, ", \"tid\": ", training_thread,
                      ", \"name\": ", json_string(name), ", \"ts\": ", start, ", \"dur\": ", duration, "}"));
}

void Timeline::write_event(const std::string& json) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (out_ != nullptr) std::fprintf(out_, "%s,\n", json.c_str());
}

void Timeline::flush() {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (out_ == nullptr) return;
  if (std::fflush(out_) != 0 || std::ferror(out_) != 0) {
    const std::string reason = std::strerror(errno);
    std::fclose(out_);  // nothing more is recorded: the trace up to here stays readable
    out_ = nullptr;
    open_ = false;
    recording_ = false;
    throw UserError(to_text("cannot write the timeline part '", part_path_, "': ", reason,
                            "; check the space left where train.timeline points"),
                    ATROUS_HERE);
  }
}

void Timeline::close() {
  flush();
  const std::lock_guard<std::mutex> lock(mutex_);
  if (out_ != nullptr) std::fclose(out_);
  out_ = nullptr;
  open_ = false;
  recording_ = false;
}

class TimelineObserver : public distributed::CollectiveObserver {
 public:
  TimelineObserver(Timeline& timeline, std::string communicator)
      : timeline_(timeline), communicator_(std::move(communicator)) {}

  void wait_started(const distributed::CollectiveLabel& label) override { (void)label; }

  void wait_ended(const distributed::CollectiveLabel& label,
                  const distributed::CollectiveTimes& times) override {
    if (!timeline_.recording()) return;
    const std::string text = label.text();
    if (times.wait_ended - times.wait_started >= shortest_wait)
      timeline_.span("wait " + text, times.wait_started, times.wait_ended);
    const std::string name =
        to_text(distributed::collective_purpose_name(label.purpose), " ", label.collective);
    const std::string common =
        to_text(", \"pid\": ", timeline_.rank_, ", \"tid\": ", collectives_thread,
                ", \"cat\": \"collective\", \"name\": ", json_string(name),
                ", \"id\": ", json_string(to_text(timeline_.rank_, ":", communicator_, ":", label.sequence)));
    timeline_.write_event(to_text("{\"ph\": \"b\"", common,
                                  ", \"ts\": ", timeline_.microseconds(times.issued),
                                  ", \"args\": {\"label\": ", json_string(text),
                                  ", \"communicator\": ", json_string(communicator_), "}}"));
    timeline_.write_event(
        to_text("{\"ph\": \"e\"", common, ", \"ts\": ", timeline_.microseconds(times.completed), "}"));
  }

 private:
  Timeline& timeline_;
  std::string communicator_;
};

std::shared_ptr<distributed::CollectiveObserver> Timeline::observer(const std::string& communicator) {
  return std::make_shared<TimelineObserver>(*this, communicator);
}

std::vector<std::string> merge_timeline_parts(const std::string& file, int world_size) {
  OutputFile output(file);
  std::vector<std::string> missing;
  std::string text = "{\"traceEvents\": [\n";
  bool first = true;
  for (int rank = 0; rank < world_size; ++rank) {
    std::ifstream part(timeline_part_path(file, rank));
    if (!part) {
      missing.push_back(timeline_part_path(file, rank));
      continue;
    }
    std::string line;
    while (std::getline(part, line)) {
      // Every event is one line ending in a comma (write_event; json_string escapes newlines): a
      // line without it was cut short by a failed write.
      if (line.empty() || line.back() != ',') continue;
      line.pop_back();
      text += (first ? "" : ",\n") + line;
      first = false;
      if (text.size() >= (size_t(1) << 20)) output.write(text), text.clear();
    }
  }
  output.write(text + "\n], \"displayTimeUnit\": \"ms\"}\n");
  output.commit();
  std::error_code error;
  for (int rank = 0; rank < world_size; ++rank)
    std::filesystem::remove(timeline_part_path(file, rank), error);
  return missing;
}

}  // namespace atrous::observe
