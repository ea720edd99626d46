#include "atrous/distributed/stall_inspector.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>

#include "atrous/core/error.h"
#include "atrous/core/log.h"

namespace atrous::distributed {
namespace {

using Clock = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double unix_seconds_at(Clock::time_point when) {
  const auto now_wall = std::chrono::system_clock::now();
  const double ago = std::chrono::duration<double>(Clock::now() - when).count();
  return std::chrono::duration<double>(now_wall.time_since_epoch()).count() - ago;
}

std::string record_path(const std::string& directory, int rank) {
  return to_text(directory, "/rank-", rank, ".txt");
}

std::optional<RankPosition> read_position(const std::string& directory, int rank) {
  std::ifstream file(record_path(directory, rank));
  std::string line;
  if (!file || !std::getline(file, line)) return std::nullopt;
  std::optional<RankPosition> position = parse_rank_position(line);
  if (position && position->rank != rank) return std::nullopt;
  return position;
}

}  // namespace

std::string format_rank_position(const RankPosition& position) {
  std::ostringstream line;
  line << std::fixed << std::setprecision(3) << "rank=" << position.rank << " host=" << position.host
       << " step=" << position.step << " at=" << position.at
       << " state=" << (position.waiting ? "waiting" : "running");
  if (position.waiting)
    line << " communicator=" << position.communicator << " sequence=" << position.sequence
         << " since=" << position.since << " label=" << position.label;
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
      } else if (key == "communicator") {
        position.communicator = value;
      } else if (key == "sequence") {
        position.sequence = std::stoull(value);
      } else if (key == "since") {
        position.since = std::stod(value);
      }
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!has_rank || !has_step || (state != "running" && state != "waiting")) return std::nullopt;
  position.waiting = state == "waiting";
  if (position.waiting && (position.communicator.empty() || position.label.empty())) return std::nullopt;
  return position;
}

std::vector<LateRank> late_ranks(const RankPosition& mine, const CollectiveMembers& members,
                                 const std::vector<std::optional<RankPosition>>& positions) {
  std::vector<LateRank> late;
  for (const int rank : members.ranks) {
    if (rank == mine.rank) continue;
    const std::optional<RankPosition> last =
        rank >= 0 && size_t(rank) < positions.size() ? positions[size_t(rank)] : std::nullopt;
    if (members.same_host_only && last && last->host != mine.host) continue;
    const bool at_it =
        last && last->waiting && last->communicator == mine.communicator && last->sequence == mine.sequence;
    if (!at_it) late.push_back({rank, last});
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
      text << last.host << ": ";
      if (last.waiting)
        text << "waiting at step " << last.step << " for " << last.label << " on " << last.communicator;
      else
        text << "running step " << last.step << ", in no collective";
      text << ", as of " << int64_t(std::max(0.0, now - last.at)) << " s ago";
    }
    text << ")";
  }
  return text.str();
}

struct StallInspector::State {
  struct ActiveWait {
    const void* scope = nullptr;  // the observer: one per communicator
    std::string communicator;
    const CollectiveMembers* members = nullptr;
    CollectiveLabel label;
    Clock::time_point start;
  };

  StallSettings settings;
  int rank = 0;
  int world_size = 1;
  std::string host;
  Logger& log;
  std::atomic<int64_t> step{0};

  std::mutex mutex;
  std::condition_variable changed;
  bool stopping = false;
  std::list<ActiveWait> waits;
  // The watchdog's own state.
  bool published_waiting = false;
  const void* published_scope = nullptr;
  uint64_t published_sequence = 0;
  int64_t published_step = 0;
  Clock::time_point published_at;
  Clock::time_point next_warning;
  std::thread watchdog;

  State(const StallSettings& s, int r, int n, std::string h, Logger& l)
      : settings(s), rank(r), world_size(n), host(std::move(h)), log(l) {}

  RankPosition own_position(const ActiveWait* wait) const {
    RankPosition position;
    position.rank = rank;
    position.host = host;
    position.step = step.load();
    position.at = unix_now();
    if (wait) {
      position.waiting = true;
      position.communicator = wait->communicator;
      position.sequence = wait->label.sequence;
      position.since = unix_seconds_at(wait->start);
      position.label = wait->label.text();
    }
    return position;
  }

  // Atomically: a reader sees the old record or the new one, never a torn one.
  void publish(const RankPosition& position) {
    published_step = position.step;
    published_at = Clock::now();
    const std::string path = record_path(settings.directory, rank), partial = path + ".partial";
    {
      std::ofstream file(partial, std::ios::trunc);
      file << format_rank_position(position) << "\n";
      if (!file)
        throw UserError(to_text("cannot write '", partial, "': ", std::strerror(errno)), ATROUS_HERE);
    }
    std::error_code error;
    std::filesystem::rename(partial, path, error);
    if (error) throw UserError(to_text("cannot rename '", partial, "': ", error.message()), ATROUS_HERE);
  }

  std::vector<std::optional<RankPosition>> read_positions() const {
    std::vector<std::optional<RankPosition>> positions(static_cast<size_t>(world_size));
    for (int r = 0; r < world_size; ++r) positions[size_t(r)] = read_position(settings.directory, r);
    return positions;
  }

  std::string late_text(const ActiveWait& wait) const {
    const RankPosition mine = own_position(&wait);
    return describe_late_ranks(late_ranks(mine, *wait.members, read_positions()), unix_now());
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

  void run() {
    std::unique_lock<std::mutex> lock(mutex);
    while (!stopping) {
      changed.wait_for(lock, std::chrono::duration<double>(settings.tick_s));
      if (stopping) break;
      const auto now = Clock::now();
      const ActiveWait* oldest = nullptr;
      for (const ActiveWait& wait : waits)
        if (!oldest || wait.start < oldest->start) oldest = &wait;
      try {
        if (!oldest) {
          const bool heartbeat =
              step.load() != published_step &&
              std::chrono::duration<double>(now - published_at).count() >= settings.heartbeat_s;
          if (published_waiting || heartbeat) {
            published_waiting = false;
            const RankPosition position = own_position(nullptr);
            lock.unlock();
            publish(position);
            lock.lock();
          }
          continue;
        }
        const double waited = std::chrono::duration<double>(now - oldest->start).count();
        const bool is_published = published_waiting && published_scope == oldest->scope &&
                                  published_sequence == oldest->label.sequence;
        if (!is_published && waited >= settings.publish_after_s) {
          published_waiting = true;
          published_scope = oldest->scope;
          published_sequence = oldest->label.sequence;
          next_warning = oldest->start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(settings.stall_warning_s));
          publish(own_position(oldest));
        }
        if (is_published && now >= next_warning) {
          next_warning = now + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(settings.stall_warning_s));
          const ActiveWait copy = *oldest;
          lock.unlock();
          warn(copy, waited);
          lock.lock();
        }
      } catch (const std::exception& error) {  // the inspector only informs: it never ends a run
        log.rank_warning("the stall inspector could not use ", settings.directory, ": ", error.what());
        if (!lock.owns_lock()) lock.lock();
      }
    }
  }
};

namespace {

class StallObserver : public CollectiveObserver {
 public:
  StallObserver(std::weak_ptr<StallInspector::State> state, std::string communicator,
                CollectiveMembers members)
      : state_(std::move(state)), communicator_(std::move(communicator)), members_(std::move(members)) {}

  void wait_started(const CollectiveLabel& label) override {
    const auto state = state_.lock();
    if (!state) return;
    const std::lock_guard<std::mutex> lock(state->mutex);
    state->waits.push_back({this, communicator_, &members_, label, Clock::now()});
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
  CollectiveMembers members_;
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
  state_->publish(state_->own_position(nullptr));
  State* state = state_.get();
  state_->watchdog = std::thread([state] { state->run(); });
}

StallInspector::~StallInspector() {
  {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->changed.notify_all();
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
