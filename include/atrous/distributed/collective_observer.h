#pragma once
// CollectiveObserver: what a communicator tells the tools that watch its collectives (the stall
// inspector, distributed/stall_inspector.h; the timeline, observe/timeline.h) about every wait.
//
// Once attached (Communicator::add_observer), each Work::wait() of that communicator calls, on the
// waiting thread:
//   wait_started(label)              before it blocks;
//   wait_ended(label, times)         after it returned (the collective is done);
//   failure_context(label)           instead of wait_ended when the wait threw a UserError (the
//                                    timeout): text the error message gains, e.g. which ranks had not
//                                    reached the collective; "" adds nothing.
// Waits happen on several threads at once (the training thread, an evaluation), so an observer
// must be thread-safe. An observer must not throw from wait_started or wait_ended, and must not
// issue collectives.

#include <chrono>
#include <string>

#include "atrous/distributed/collective_label.h"

namespace atrous::distributed {

struct CollectiveTimes {
  using Clock = std::chrono::steady_clock;
  Clock::time_point issued;        // the collective was handed to the communicator
  Clock::time_point completed;     // the backend finished it (when the backend says; else wait_ended)
  Clock::time_point wait_started;  // the caller began to wait
  Clock::time_point wait_ended;    // and stopped waiting
};

class CollectiveObserver {
 public:
  virtual ~CollectiveObserver() = default;
  virtual void wait_started(const CollectiveLabel& label) = 0;
  virtual void wait_ended(const CollectiveLabel& label, const CollectiveTimes& times) = 0;
  virtual std::string failure_context(const CollectiveLabel& label) {
    (void)label;
    return std::string();
  }
};

}  // namespace atrous::distributed
