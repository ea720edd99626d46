#include "atrous/distributed/work_queue.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "atrous/core/error.h"

namespace atrous::distributed {
namespace {

// Handing an operation to the thread and its completion back costs two thread wake-ups, about
// 25 us here: a tenth of a 1 MiB allreduce. Both sides therefore watch for the change for a short
// while before they go to sleep.
constexpr auto spin_time = std::chrono::microseconds(50);

// True as soon as ready() holds, false if it did not within spin_time.
template <class Ready>
bool spin_until(Ready ready) {
  const auto until = std::chrono::steady_clock::now() + spin_time;
  do {
    if (ready()) return true;
    std::this_thread::yield();  // the other thread may share this core (ranks bound to one core)
  } while (std::chrono::steady_clock::now() < until);
  return false;
}

// What a Work handle and the queue's thread share about one operation.
struct Completion {
  std::mutex mutex;
  std::condition_variable changed;
  std::atomic<bool> done{false};
  std::chrono::steady_clock::time_point completed;  // set before done
  std::exception_ptr error;
  CollectiveLabel label;
  double timeout_s = 0;
};

class QueuedWork : public Work {
 public:
  explicit QueuedWork(std::shared_ptr<Completion> completion) : completion_(std::move(completion)) {}

  void wait() override {
    spin_until([&] { return completion_->done.load(std::memory_order_acquire); });
    std::unique_lock<std::mutex> lock(completion_->mutex);
    const auto limit = std::chrono::duration<double>(completion_->timeout_s);
    if (!completion_->changed.wait_for(lock, limit, [&] { return completion_->done.load(); }))
      throw collective_timeout_error(completion_->label, completion_->timeout_s, "stopping the job",
                                     ATROUS_HERE);
    if (completion_->error) std::rethrow_exception(completion_->error);
  }

  bool is_completed() override { return completion_->done.load(std::memory_order_acquire); }
  std::optional<std::chrono::steady_clock::time_point> completion_time() const override {
    if (!completion_->done.load(std::memory_order_acquire)) return std::nullopt;
    return completion_->completed;
  }

 private:
  std::shared_ptr<Completion> completion_;
};

struct Task {
  std::function<void()> operation;
  std::shared_ptr<Completion> completion;
};

}  // namespace

struct WorkQueue::State {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Task> tasks;
  std::atomic<size_t> queued{0};
  bool stopping = false;
  double timeout_s = 0;
  std::thread thread;

  static void run(const std::shared_ptr<State>& state) {
    for (;;) {
      Task task;
      spin_until([&] { return state->queued.load(std::memory_order_acquire) > 0; });
      {
        std::unique_lock<std::mutex> lock(state->mutex);
        state->changed.wait(lock, [&] { return state->stopping || !state->tasks.empty(); });
        if (state->tasks.empty()) return;  // stopping, and nothing left to do
        task = std::move(state->tasks.front());
        state->tasks.pop_front();
        state->queued.fetch_sub(1, std::memory_order_release);
      }
      std::exception_ptr error;
      try {
        task.operation();
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(task.completion->mutex);
        task.completion->error = error;
        task.completion->completed = std::chrono::steady_clock::now();
        task.completion->done.store(true, std::memory_order_release);
      }
      task.completion->changed.notify_all();
    }
  }
};

WorkQueue::WorkQueue(double timeout_s) : state_(std::make_shared<State>()) {
  state_->timeout_s = timeout_s;
  std::shared_ptr<State> state = state_;
  state_->thread = std::thread([state] { State::run(state); });
}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->changed.notify_all();
  if (std::uncaught_exceptions() > 0)
    state_->thread.detach();  // it may be blocked for good in a collective whose peer is gone
  else
    state_->thread.join();
}

WorkHandle WorkQueue::submit(const CollectiveLabel& label, std::function<void()> operation) {
  auto completion = std::make_shared<Completion>();
  completion->label = label;
  completion->timeout_s = state_->timeout_s;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->tasks.push_back(Task{std::move(operation), completion});
    state_->queued.fetch_add(1, std::memory_order_release);
  }
  state_->changed.notify_one();
  return std::make_shared<QueuedWork>(std::move(completion));
}

}  // namespace atrous::distributed
