#pragma once
// MpiCommunicator: the Communicator for CPU tensors, over MPI.
//
// It owns a duplicate of the given communicator (its traffic never mixes with anyone else's) and
// one background thread (distributed/work_queue.h) that makes all of its MPI calls, one at a time, in the
// order they were issued. Communication therefore progresses while the main thread computes,
// which is what lets the gradient reducer overlap allreduce with the backward pass. Since the main
// thread may make other MPI calls meanwhile, distributed::World requires MPI_THREAD_MULTIPLE.
// Messages larger than MPI's int count are sent in pieces; an allgather must fit in one (at most
// INT_MAX elements in all, else InternalError). Averages are sums divided by size(), computed on
// the communication thread without LibTorch's thread pool. Datatypes and reductions come from
// distributed/collective_types.h.

#include <mpi.h>

#include "atrous/distributed/communicator.h"
#include "atrous/distributed/mpi_comm.h"
#include "atrous/distributed/work_queue.h"

namespace atrous::distributed {

class MpiCommunicator : public Communicator {
 public:
  // Collective over `parent`, which it duplicates. Validates options.
  MpiCommunicator(MPI_Comm parent, const CommunicatorOptions& options);

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
  WorkQueue queue_;  // last: its thread stops before the communicator is freed
};

}  // namespace atrous::distributed
