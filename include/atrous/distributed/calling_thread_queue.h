#pragma once
// CallingThreadQueue: the operations of an MpiCommunicator with MpiProgress::calling_thread
// (distributed/mpi_communicator.h), run without a thread of their own.
//
// Each operation is a start function that begins non-blocking MPI calls (MPI_Iallreduce, ...) and
// adds their requests, and a finish function run once they all completed (the average's division).
// Operations start in issue order, each only after the one before it completed, so an operation
// sees the results of the earlier ones even on the same tensor (the Communicator protocol). When
// nothing is pending, submit() starts the operation at once: the common case of a caller that
// waits for each collective before the next costs no hand-off at all.
// Progress is made by whoever calls wait() or is_completed() on any of its Work handles: the
// queue tests its oldest operation (MPI_Testall), finishes it, starts the next. wait() polls without
// pause for its first 0.5 ms, then yields the core between polls, and after 5 ms sleeps 50 us between
// them; one that lasts longer than the timeout throws collective_timeout_error() with its
// operation's label.
// Thread-safe; meant for one thread at a time.
//
// Destroyed with operations pending (an error is unwinding, or a wait timed out), it leaks them,
// with the tensors their functions hold: MPI may still write into those, and the job is being
// stopped anyway.

#include <mpi.h>

#include <functional>
#include <memory>
#include <vector>

#include "atrous/distributed/collective_label.h"
#include "atrous/distributed/communicator.h"

namespace atrous::distributed {

class CallingThreadQueue {
 public:
  using Start = std::function<void(std::vector<MPI_Request>& requests)>;
  using Finish = std::function<void()>;

  explicit CallingThreadQueue(double timeout_s);
  ~CallingThreadQueue();
  CallingThreadQueue(const CallingThreadQueue&) = delete;
  CallingThreadQueue& operator=(const CallingThreadQueue&) = delete;

  WorkHandle submit(const CollectiveLabel& label, Start start, Finish finish);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace atrous::distributed
