#include "atrous/distributed/blocking_deadline.h"

#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "atrous/core/error.h"
#include "atrous/core/rank_label.h"

namespace atrous::distributed {
namespace {

using Clock = std::chrono::steady_clock;

struct Call {
  std::string what;
  Clock::time_point start;
};

// Process-wide: the calls now blocking and the watchdog that checks them. Never destroyed, so the
// detached watchdog can outlive static destruction.
struct Deadlines {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<uint64_t, Call> calls;
  uint64_t next_id = 1;
  double timeout_s = default_blocking_timeout_s;
  bool watching = false;
};

Deadlines& deadlines() {
  static auto* state = new Deadlines;
  return *state;
}

[[noreturn]] void end_job(const Call& call, double timeout_s) {
  print_error(to_text(rank_label().text(), " ", call.what,
                      " did not complete within dist.timeout_s = ", timeout_s,
                      " s: another rank is stopped, hung or far slower (or died); stopping the job"));
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, 1);
  _exit(1);
}

void watch() {
  Deadlines& state = deadlines();
  std::unique_lock<std::mutex> lock(state.mutex);
  for (;;) {
    if (state.calls.empty())
      state.changed.wait(lock, [&] { return !state.calls.empty(); });
    else
      state.changed.wait_for(lock, std::chrono::milliseconds(200));
    const auto now = Clock::now();
    const auto limit = std::chrono::duration<double>(state.timeout_s);
    for (const auto& [id, call] : state.calls)
      if (now - call.start > limit) {
        const Call late = call;
        const double timeout_s = state.timeout_s;
        lock.unlock();
        end_job(late, timeout_s);
      }
  }
}

}  // namespace

void set_blocking_timeout(double seconds) {
  ATROUS_ASSERT(seconds > 0, "blocking timeout ", seconds, " s");
  std::lock_guard<std::mutex> lock(deadlines().mutex);
  deadlines().timeout_s = seconds;
}

double blocking_timeout() {
  std::lock_guard<std::mutex> lock(deadlines().mutex);
  return deadlines().timeout_s;
}

ScopedBlockingCall::ScopedBlockingCall(std::string what) {
  Deadlines& state = deadlines();
  std::lock_guard<std::mutex> lock(state.mutex);
  id_ = state.next_id++;
  state.calls[id_] = Call{std::move(what), Clock::now()};
  state.changed.notify_all();
  if (!state.watching) {
    std::thread(watch).detach();
    state.watching = true;
  }
}

ScopedBlockingCall::~ScopedBlockingCall() {
  Deadlines& state = deadlines();
  std::lock_guard<std::mutex> lock(state.mutex);
  state.calls.erase(id_);
}

}  // namespace atrous::distributed
