#pragma once
// Communicator: the collectives that data parallelism needs, behind one interface with one
// implementation per transport:
//   MpiCommunicator    (distributed/mpi_communicator.h)    CPU tensors, over MPI, on a background thread
//   NcclCommunicator   (distributed/nccl_communicator.h)   CUDA tensors over NCCL, CPU tensors over MPI
//   LocalCommunicator  (distributed/local_communicator.h)  a single process: the fake for unit tests
//
// Protocol. Every collective is asynchronous: the call checks its arguments, queues the operation
// and returns a Work handle at once; wait() blocks until it is done and rethrows its error. Every
// rank must issue the same collectives, with tensors of the same dtype and element count, in the
// same order (as in Horovod and PyTorch DDP); operations complete in the order they were issued.
// The communicator keeps each tensor alive until its operation is done; the caller must not touch
// a tensor's data between issuing an operation and its wait().
//
// Arguments (NCCL's rule: every entry point checks its arguments before anything else). The public
// collectives are this class's own: they check every argument, then hand the operation to the
// backend (do_allreduce() and the others), so no backend can skip a check. A violation is a bug in
// the caller: an InternalError naming the collective, thrown before anything is communicated.
//   - every tensor is defined, contiguous, on a device type the backend takes (device_types());
//   - its dtype is one that collectives move (distributed/collective_types.h); average needs a
//     floating dtype;
//   - broadcast: 0 <= root < size();
//   - allgather: the output has input's dtype and device and size() * input.numel() elements.
//
// Purpose and accounting. Each collective may say what it is for (distributed/collective_waits.h);
// the label carries it. Once account_waits_in() attached a CollectiveWaits, the seconds every
// caller spends in Work::wait() are added to it under that purpose.
//
// Observers. add_observer() attaches a CollectiveObserver (distributed/collective_observer.h)
// that hears of every wait of this communicator: the stall inspector, the timeline. A wait that
// throws a UserError (the timeout) rethrows it with what the observers add (the late ranks).
//
// Labels. Each collective that passes the checks gets the next sequence number of this
// communicator and a CollectiveLabel (distributed/collective_label.h) that names it. A wait() that
// lasts longer than dist.timeout_s throws collective_timeout_error() with that label: a rank died,
// hangs, or issued collectives in another order. The top-level handler (cli/guard.h) then aborts
// the job rather than letting it hang.

#include <ATen/core/Tensor.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atrous/distributed/collective_label.h"
#include "atrous/distributed/collective_observer.h"
#include "atrous/distributed/collective_waits.h"
#include "atrous/distributed/reduce_op.h"

namespace atrous {
class OptionTable;
}

namespace atrous::distributed {

struct CommunicatorOptions {
  double timeout_s = 600;       // dist.timeout_s (declared by WorldOptions; make_communicator copies it)
  double stall_warning_s = 60;  // dist.stall_warning_s: distributed/stall_inspector.h; 0 = off

  static void declare(OptionTable& table, CommunicatorOptions& options);
  void validate() const;
};

class Work {
 public:
  virtual ~Work() = default;
  // Blocks until the operation completed; rethrows its error. Throws UserError after the timeout.
  virtual void wait() = 0;
  virtual bool is_completed() = 0;
  // When the backend finished the operation, if it records that (the background thread's queue
  // does); nullopt when only a wait can tell.
  virtual std::optional<std::chrono::steady_clock::time_point> completion_time() const {
    return std::nullopt;
  }
};
using WorkHandle = std::shared_ptr<Work>;

class Communicator {
 public:
  Communicator() = default;
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // In place over every rank (average: floating types only; float16 and bfloat16 are combined in
  // float32 per pair).
  WorkHandle allreduce(at::Tensor tensor, ReduceOp op, CollectivePurpose purpose = CollectivePurpose::other);
  // In place: every rank's tensor becomes root's.
  WorkHandle broadcast(at::Tensor tensor, int root, CollectivePurpose purpose = CollectivePurpose::other);
  // output holds size() * input.numel() elements of input's dtype: rank r's input at r * numel.
  WorkHandle allgather(at::Tensor input, at::Tensor output,
                       CollectivePurpose purpose = CollectivePurpose::other);
  WorkHandle barrier(CollectivePurpose purpose = CollectivePurpose::other);

  // From now on, the waits of this communicator's collectives are added to `waits` (may be shared
  // with other communicators). Call before issuing collectives; nullptr stops the accounting.
  void account_waits_in(std::shared_ptr<CollectiveWaits> waits);
  // From now on, `observer` hears of every wait for this communicator's collectives (after those
  // already attached). Call before issuing the collectives it should see.
  void add_observer(std::shared_ptr<CollectiveObserver> observer);

 protected:
  // The device types whose tensors this backend moves.
  virtual std::vector<c10::DeviceType> device_types() const = 0;

  // The backend's part of each collective: called with checked arguments and the collective's label.
  virtual WorkHandle do_allreduce(at::Tensor tensor, ReduceOp op, const CollectiveLabel& label) = 0;
  virtual WorkHandle do_broadcast(at::Tensor tensor, int root, const CollectiveLabel& label) = 0;
  virtual WorkHandle do_allgather(at::Tensor input, at::Tensor output, const CollectiveLabel& label) = 0;
  virtual WorkHandle do_barrier(const CollectiveLabel& label) = 0;

 private:
  void check_tensor(const at::Tensor& tensor, const char* collective, const char* role) const;
  CollectiveLabel next_label(const char* collective, const at::Tensor& tensor, CollectivePurpose purpose);
  // The backend's work, wrapped when waits are accounted or observed.
  WorkHandle watched(WorkHandle work, const CollectiveLabel& label,
                     std::chrono::steady_clock::time_point issued) const;

  std::atomic<uint64_t> next_sequence_{0};
  std::shared_ptr<CollectiveWaits> waits_;
  std::vector<std::shared_ptr<CollectiveObserver>> observers_;
};

}  // namespace atrous::distributed
