#include "atrous/distributed/stall_inspector.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>

#include "atrous/core/error.h"
#include "atrous/core/log.h"
#include "atrous/core/output_file.h"

namespace atrous::distributed {
namespace {

using Clock = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double unix_seconds_at(Clock::time_point when) {
  return unix_now() - std::chrono::duration<double>(Clock::now() - when).count();
}

std::string record_path(const std::string& directory, int rank) {
  return to_text(directory, "/rank-", rank, ".txt");
}

bool same_point(const WaitPoint& a, const WaitPoint& b) {
  return a.communicator == b.communicator && a.sequence == b.sequence;
}

std::string waits_text(const std::vector<WaitPoint>& waits) {
  std::string text;
  for (const WaitPoint& wait : waits)
    text += to_text(text.empty() ? "" : ",", wait.communicator, ":", wait.sequence);
  return text;
}

std::vector<WaitPoint> parse_waits(const std::string& text) {
  std::vector<WaitPoint> waits;
  std::istringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0) throw std::invalid_argument(item);
    size_t used = 0;
    const uint64_t sequence = std::stoull(item.substr(colon + 1), &used);
    if (used != item.size() - colon - 1) throw std::invalid_argument(item);
    waits.push_back({item.substr(0, colon), sequence});
  }
  return waits;
}

}  // namespace

std::string format_rank_position(const RankPosition& position) {
  std::ostringstream line;
  line << std::fixed << std::setprecision(3) << "rank=" << position.rank << " host=" << position.host
       << " step=" << position.step << " at=" << position.at
       << " state=" << (position.waiting ? "waiting" : "running");
  if (position.waiting)
    line << " waits=" << waits_text(position.waits) << " since=" << position.since
         << " label=" << position.label;
  return line.str();
}

std::optional<RankPosition> parse_rank_position(const std::string& line) {
  RankPosition position;
  std::string fields = line;
  const size_t label_at = line.find(" label=");
  if (label_at != std::string::npos) {
    position.label = line.substr(label_at + 7);
    fields = line.substr(0, label_at);
  }
  std::istringstream tokens(fields);
  std::string token, state;
  bool has_rank = false, has_step = false;
  try {
    while (tokens >> token) {
      const size_t equals = token.find('=');
      if (equals == std::string::npos) return std::nullopt;
      const std::string key = token.substr(0, equals), value = token.substr(equals + 1);
      if (key == "rank") {
        position.rank = std::stoi(value);
        has_rank = true;
      } else if (key == "host") {
        position.host = value;
      } else if (key == "step") {
        position.step = std::stoll(value);
        has_step = true;
      } else if (key == "at") {
        position.at = std::stod(value);
      } else if (key == "state") {
        state = value;
      } else if (key == "waits") {
        position.waits = parse_waits(value);
      } else if (key == "since") {
        position.since = std::stod(value);
      }
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!has_rank || !has_step || (state != "running" && state != "waiting")) return std::nullopt;
  position.waiting = state == "waiting";
  if (position.waiting && (position.waits.empty() || position.label.empty())) return std::nullopt;
  return position;
}

std::vector<LateRank> late_ranks(const WaitPoint& collective, int mine, const std::string& host,
                                 const CollectiveMembers& members,
                                 const std::vector<std::optional<RankPosition>>& positions, double now,
                                 double silent_after_s) {
  std::vector<LateRank> late;
  for (const int rank : members.ranks) {
    if (rank == mine) continue;
    const std::optional<RankPosition> last =
        rank >= 0 && size_t(rank) < positions.size() ? positions[size_t(rank)] : std::nullopt;
    if (members.same_host_only && last && last->host != host) continue;
    const bool at_it = last && last->waiting &&
                       std::any_of(last->waits.begin(), last->waits.end(),
                                   [&](const WaitPoint& wait) { return same_point(wait, collective); });
    const bool silent = at_it && now - last->at > silent_after_s;
    if (!at_it || silent) late.push_back({rank, last, silent});
  }
  return late;
}

std::string describe_late_ranks(const std::vector<LateRank>& late, double now) {
  std::ostringstream text;
  for (size_t i = 0; i < late.size(); ++i) {
    text << (i ? ", " : "") << "rank " << late[i].rank << " (";
    if (!late[i].last) {
      text << "no record";
    } else {
      const RankPosition& last = *late[i].last;
      const int64_t age = int64_t(std::max(0.0, now - last.at));
      text << last.host << ": ";
      if (late[i].silent)
        text << "waiting for it at step " << last.step << " but silent for " << age << " s: stopped or hung";
      else if (last.waiting)
        text << "waiting at step " << last.step << " for " << last.label << " on "
             << last.waits.front().communicator << ", as of " << age << " s ago";
      else
        text << "running step " << last.step << ", in no collective, as of " << age << " s ago";
    }
    text << ")";
  }
  return text.str();
}

struct StallInspector::State {
  struct ActiveWait {
    const void* scope = nullptr;  // the observer: one per communicator
    std::string communicator;
    std::shared_ptr<const CollectiveMembers> members;
    CollectiveLabel label;
    Clock::time_point start;

    WaitPoint point() const { return {communicator, label.sequence}; }
  };

  StallSettings settings;
  int rank = 0;
  int world_size = 1;
  std::string host;
  Logger& log;
  double started_unix = unix_now();
  std::atomic<int64_t> step{0};

  std::mutex mutex;
  std::condition_variable changed;
  bool stopping = false;
  std::list<ActiveWait> waits;
  std::thread watchdog;

  // The watchdog's own state (only its thread touches it after construction).
  std::string published_waits;  // waits_text() of the last waiting record; "" = running
  int64_t published_step = 0;
  Clock::time_point published_at;
  const void* warned_scope = nullptr;
  uint64_t warned_sequence = 0;
  Clock::time_point next_warning;

  State(const StallSettings& s, int r, int n, std::string h, Logger& l)
      : settings(s), rank(r), world_size(n), host(std::move(h)), log(l) {}

  // This rank's record with `long_waits` (oldest first), or running when empty.
  RankPosition own_position(const std::vector<ActiveWait>& long_waits) const {
    RankPosition position;
    position.rank = rank;
    position.host = host;
    position.step = step.load();
    position.at = unix_now();
    if (!long_waits.empty()) {
      position.waiting = true;
      for (const ActiveWait& wait : long_waits) position.waits.push_back(wait.point());
      position.since = unix_seconds_at(long_waits.front().start);
      position.label = long_waits.front().label.text();
    }
    return position;
  }

  // Atomically: a reader sees the old record or the new one, never a torn one.
  void publish(const RankPosition& position) const {
    write_file_atomically(record_path(settings.directory, rank), format_rank_position(position) + "\n");
  }

  // The records of `members` written by this job (by world rank).
  std::vector<std::optional<RankPosition>> read_positions(const CollectiveMembers& members) const {
    std::vector<std::optional<RankPosition>> positions(static_cast<size_t>(world_size));
    for (const int member : members.ranks) {
      if (member < 0 || member >= world_size) continue;
      std::ifstream file(record_path(settings.directory, member));
      std::string line;
      if (!file || !std::getline(file, line)) continue;
      std::optional<RankPosition> position = parse_rank_position(line);
      if (position && position->rank == member && position->at >= started_unix - 2)
        positions[size_t(member)] = position;
    }
    return positions;
  }

  std::string late_text(const ActiveWait& wait) const {
    return describe_late_ranks(late_ranks(wait.point(), rank, host, *wait.members,
                                          read_positions(*wait.members), unix_now(), settings.silent_after_s),
                               unix_now());
  }

  void warn(const ActiveWait& wait, double waited) const {
    const std::string late = late_text(wait);
    const std::string text =
        to_text("stall at step ", step.load(), ": ", wait.label.text(), " on ", wait.communicator,
                " has waited ", int64_t(waited), " s; ",
                late.empty() ? std::string("every rank has reached it (it may be completing)")
                             : "not reached by " + late,
                "; dist.timeout_s = ", settings.timeout_s, " s ends the job");
    if (rank == 0)
      log.warn(text);
    else
      log.rank_warning(text);
  }

  // One look at the waits, under the lock; what to write or say comes back, done without it.
  struct Duty {
    std::optional<RankPosition> record;
    std::optional<ActiveWait> warning;
    double waited = 0;
  };
  Duty duty(Clock::time_point now);
  void run(const std::shared_ptr<State>& self);
};

StallInspector::State::Duty StallInspector::State::duty(Clock::time_point now) {
  Duty duty;
  std::vector<ActiveWait> long_waits;
  for (const ActiveWait& wait : waits)
    if (std::chrono::duration<double>(now - wait.start).count() >= settings.publish_after_s)
      long_waits.push_back(wait);
  std::sort(long_waits.begin(), long_waits.end(),
            [](const ActiveWait& a, const ActiveWait& b) { return a.start < b.start; });
  std::vector<WaitPoint> points;
  for (const ActiveWait& wait : long_waits) points.push_back(wait.point());
  const std::string now_waits = waits_text(points);
  const double since_published = std::chrono::duration<double>(now - published_at).count();
  const bool refresh =
      since_published >= settings.heartbeat_s && (!now_waits.empty() || step.load() != published_step);
  if (now_waits != published_waits || refresh) {
    duty.record = own_position(long_waits);
    published_waits = now_waits;
    published_step = duty.record->step;
    published_at = now;
  }
  if (long_waits.empty()) return duty;
  const ActiveWait& oldest = long_waits.front();
  if (oldest.scope != warned_scope || oldest.label.sequence != warned_sequence) {
    warned_scope = oldest.scope;
    warned_sequence = oldest.label.sequence;
    next_warning = oldest.start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(settings.stall_warning_s));
  }
  if (now >= next_warning) {
    next_warning = now + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(settings.stall_warning_s));
    duty.warning = oldest;
    duty.waited = std::chrono::duration<double>(now - oldest.start).count();
  }
  return duty;
}

void StallInspector::State::run(const std::shared_ptr<State>& self) {
  (void)self;  // keeps the state alive while the thread runs, also when detached
  std::unique_lock<std::mutex> lock(mutex);
  while (!stopping) {
    changed.wait_for(lock, std::chrono::duration<double>(settings.tick_s));
    if (stopping) break;
    const Duty todo = duty(Clock::now());
    if (!todo.record && !todo.warning) continue;
    lock.unlock();
    try {
      if (todo.record) publish(*todo.record);
      if (todo.warning) warn(*todo.warning, todo.waited);
    } catch (const std::exception& error) {  // the inspector only informs: it never ends a run
      log.rank_warning("the stall inspector could not use ", settings.directory, ": ", error.what());
    }
    lock.lock();
  }
}

namespace {

class StallObserver : public CollectiveObserver {
 public:
  StallObserver(std::weak_ptr<StallInspector::State> state, std::string communicator,
                CollectiveMembers members)
      : state_(std::move(state)),
        communicator_(std::move(communicator)),
        members_(std::make_shared<const CollectiveMembers>(std::move(members))) {}

  void wait_started(const CollectiveLabel& label) override {
    const auto state = state_.lock();
    if (!state) return;
    const std::lock_guard<std::mutex> lock(state->mutex);
    state->waits.push_back({this, communicator_, members_, label, Clock::now()});
  }

  void wait_ended(const CollectiveLabel& label, const CollectiveTimes& times) override {
    (void)times;
    remove(label);
  }

  std::string failure_context(const CollectiveLabel& label) override {
    const auto state = state_.lock();
    if (!state) return std::string();
    std::optional<StallInspector::State::ActiveWait> wait;
    {
      const std::lock_guard<std::mutex> lock(state->mutex);
      for (const auto& active : state->waits)
        if (active.scope == this && active.label.sequence == label.sequence) wait = active;
    }
    remove(label);
    if (!wait) return std::string();
    const std::string late = state->late_text(*wait);
    return late.empty() ? std::string() : "; not reached by " + late;
  }

 private:
  void remove(const CollectiveLabel& label) {
    const auto state = state_.lock();
    if (!state) return;
    const std::lock_guard<std::mutex> lock(state->mutex);
    state->waits.remove_if(
        [&](const auto& active) { return active.scope == this && active.label.sequence == label.sequence; });
  }

  std::weak_ptr<StallInspector::State> state_;
  std::string communicator_;
  std::shared_ptr<const CollectiveMembers> members_;
};

}  // namespace

StallInspector::StallInspector(const StallSettings& settings, int rank, int world_size, std::string host,
                               Logger& log)
    : state_(std::make_shared<State>(settings, rank, world_size, std::move(host), log)) {
  ATROUS_ASSERT(settings.stall_warning_s > 0 && settings.tick_s > 0, "stall inspector settings");
  std::error_code error;
  std::filesystem::create_directories(settings.directory, error);
  if (error)
    throw UserError(to_text("cannot create the stall inspector's directory '", settings.directory,
                            "': ", error.message(), "; check that the run directory is writable"),
                    ATROUS_HERE);
  state_->publish(state_->own_position({}));
  state_->published_at = Clock::now();
  std::shared_ptr<State> state = state_;
  state_->watchdog = std::thread([state] { state->run(state); });
}

StallInspector::~StallInspector() {
  {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->changed.notify_all();
  if (std::uncaught_exceptions() > 0)
    state_->watchdog.detach();  // it may be stuck on a hung filesystem; the job is about to end
  else
    state_->watchdog.join();
}

std::shared_ptr<CollectiveObserver> StallInspector::observer(std::string communicator,
                                                             CollectiveMembers members) {
  return std::make_shared<StallObserver>(state_, std::move(communicator), std::move(members));
}

void StallInspector::set_step(int64_t step) {
  state_->step.store(step);
}

}  // namespace atrous::distributed
