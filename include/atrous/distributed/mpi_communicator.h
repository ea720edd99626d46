#pragma once
// MpiCommunicator: the Communicator for CPU tensors, over MPI.
//
// It owns a duplicate of the given communicator (its traffic never mixes with anyone else's). Where
// its MPI calls are made is chosen at construction (MpiProgress):
//   background_thread  one thread (distributed/work_queue.h) makes all of them, one at a time, in the
//                      order they were issued. Communication progresses while the main thread
//                      computes: what lets the gradient reducer overlap allreduce with backward.
//   calling_thread     the issuing thread starts a non-blocking collective (MPI_Iallreduce, ...) and
//                      wait() polls it until it completes or dist.timeout_s ends it
//                      (distributed/calling_thread_queue.h). No hand-off to another thread and no
//                      queue behind other traffic: the least latency for small collectives that the
//                      caller waits for at once (SyncBatchNorm's statistics).
// Since several threads make MPI calls (the main thread's, the background thread's, another
// communicator's), distributed::World requires MPI_THREAD_MULTIPLE.
// Messages larger than MPI's int count are sent in pieces; an allgather must fit in one (at most
// INT_MAX elements in all, else InternalError). Averages are sums divided by size(), computed on
// the communication thread without LibTorch's thread pool. Datatypes and reductions come from
// distributed/collective_types.h.

#include <mpi.h>

#include <memory>

#include "atrous/distributed/calling_thread_queue.h"
#include "atrous/distributed/communicator.h"
#include "atrous/distributed/mpi_comm.h"
#include "atrous/distributed/work_queue.h"

namespace atrous::distributed {

enum class MpiProgress { background_thread, calling_thread };

class MpiCommunicator : public Communicator {
 public:
  // Collective over `parent`, which it duplicates. Validates options.
  MpiCommunicator(MPI_Comm parent, const CommunicatorOptions& options,
                  MpiProgress progress = MpiProgress::background_thread);

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

 protected:
  std::vector<c10::DeviceType> device_types() const override { return {c10::DeviceType::CPU}; }
  WorkHandle do_allreduce(at::Tensor tensor, ReduceOp op, const CollectiveLabel& label) override;
  WorkHandle do_broadcast(at::Tensor tensor, int root, const CollectiveLabel& label) override;
  WorkHandle do_allgather(at::Tensor input, at::Tensor output, const CollectiveLabel& label) override;
  WorkHandle do_barrier(const CollectiveLabel& label) override;

 private:
  // Moves the CPU tensors of the NCCL backend, under the NCCL communicator's labels.
  friend class NcclCommunicator;

  MpiComm comm_;
  int rank_ = 0, size_ = 1;
  double timeout_s_ = 0;
  std::unique_ptr<CallingThreadQueue> caller_queue_;  // calling_thread only
  std::unique_ptr<WorkQueue> queue_;  // background_thread only; last: its thread stops before comm_ is freed
};

}  // namespace atrous::distributed
