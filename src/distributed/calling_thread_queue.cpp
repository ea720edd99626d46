#include "atrous/distributed/calling_thread_queue.h"

#include <chrono>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "atrous/core/error.h"
#include "atrous/distributed/mpi_check.h"

namespace atrous::distributed {
namespace {

// How wait() polls. SyncBatchNorm's waits are mostly shorter than a millisecond (the other ranks are
// a layer's jitter behind): polling without pause answers them soonest. On 2 ranks x 1 thread of the
// demo configuration, a yield between polls from the start let the batch-norm wait reach 10-13% of
// the step where polling first kept it at 3-7%, and sleeping at once was worse still; a rank that
// is really behind (stopped, or in a long computation) is waited for with yields, then with sleeps
// that leave its core to others.
constexpr auto busy_poll_time = std::chrono::microseconds(500);
constexpr auto yield_poll_time = std::chrono::milliseconds(5);

}  // namespace

struct CallingThreadQueue::State {
  struct Operation {
    CollectiveLabel label;
    Start start;
    Finish finish;
    std::vector<MPI_Request> requests;
    bool started = false;
    bool done = false;
  };

  std::mutex mutex;
  std::deque<std::shared_ptr<Operation>> pending;  // oldest first; only the oldest has started
  double timeout_s = 0;

  // Finishes what completed and starts what may start. Caller holds the mutex.
  void progress() {
    while (!pending.empty()) {
      Operation& oldest = *pending.front();
      if (!oldest.started) {
        oldest.started = true;
        oldest.start(oldest.requests);
      }
      int completed = 0;
      ATROUS_MPI_CHECK(
          MPI_Testall(int(oldest.requests.size()), oldest.requests.data(), &completed, MPI_STATUSES_IGNORE));
      if (!completed) return;
      if (oldest.finish) oldest.finish();
      oldest.done = true;
      pending.pop_front();
    }
  }
};

namespace {

using Operation = CallingThreadQueue::State::Operation;

class CallingThreadWork : public Work {
 public:
  CallingThreadWork(std::shared_ptr<CallingThreadQueue::State> state, std::shared_ptr<Operation> operation)
      : state_(std::move(state)), operation_(std::move(operation)) {}

  void wait() override {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto limit = std::chrono::duration<double>(state_->timeout_s);
    while (!is_completed()) {
      const auto waited = Clock::now() - start;
      if (waited > limit)
        throw collective_timeout_error(operation_->label, state_->timeout_s, "stopping the job", ATROUS_HERE);
      if (waited < busy_poll_time) continue;
      if (waited < yield_poll_time)
        std::this_thread::yield();
      else
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  bool is_completed() override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (!operation_->done) state_->progress();
    return operation_->done;
  }

 private:
  std::shared_ptr<CallingThreadQueue::State> state_;
  std::shared_ptr<Operation> operation_;
};

}  // namespace

CallingThreadQueue::CallingThreadQueue(double timeout_s) : state_(std::make_shared<State>()) {
  state_->timeout_s = timeout_s;
}

CallingThreadQueue::~CallingThreadQueue() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  if (!state_->pending.empty()) new std::shared_ptr<State>(state_);  // leaked on purpose: see the header
}

WorkHandle CallingThreadQueue::submit(const CollectiveLabel& label, Start start, Finish finish) {
  auto operation = std::make_shared<Operation>();
  operation->label = label;
  operation->start = std::move(start);
  operation->finish = std::move(finish);
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->pending.push_back(operation);
    if (state_->pending.size() == 1) state_->progress();  // nothing ahead of it: start at once
  }
  return std::make_shared<CallingThreadWork>(state_, std::move(operation));
}

}  // namespace atrous::distributed
