#pragma once
// WorkQueue: runs operations one at a time, in the order they were queued, on one background
// thread, and hands out a Work handle for each (distributed/communicator.h).
//
// A wait() longer than the timeout throws collective_timeout_error() with the operation's label
// (distributed/collective_label.h), saying that the job is being stopped.
//
// The thread and the queue live in a shared state, so when the owner is destroyed while an error
// unwinds (a peer rank may have died, leaving the thread blocked inside MPI for good), the thread
// is detached instead of joined and the top-level handler can abort the job. Otherwise the
// destructor lets every queued operation finish, then joins.

#include <functional>
#include <memory>

#include "atrous/distributed/collective_label.h"
#include "atrous/distributed/communicator.h"

namespace atrous::distributed {

class WorkQueue {
 public:
  // timeout_s: how long Work::wait() waits before it throws.
  explicit WorkQueue(double timeout_s);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `operation`; `label` names it in the timeout error.
  WorkHandle submit(const CollectiveLabel& label, std::function<void()> operation);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace atrous::distributed
