#pragma once
// NcclCommunicator: the Communicator for CUDA tensors, over NCCL (built when NCCL is found).
//
// Bootstrap (collective over an MPI communicator, as Horovod does it): rank 0 calls
// ncclGetUniqueId, MPI_Bcast hands the id to every rank, each calls ncclCommInitRank on its device
// (distributed::World picks the device: distributed/gpu_assignment.h). NCCL_RUNTIME_CONNECT=0 is set
// first unless the environment sets it: every connection is made during that collective call, so no
// later collective blocks the issuing thread while it waits for a late peer to connect (NCCL >= 2.22
// connects lazily by default, which would keep a wait's timeout from ever starting).
// Ordering: NCCL runs on the communicator's own stream. Each operation first makes that stream wait
// for an event recorded on the compute stream (so it sees the gradients as they are when it is
// issued), and records a completion event after itself. Work::wait() polls the completion event and
// ncclCommGetAsyncError: an NCCL error, or no completion within dist.timeout_s, aborts the NCCL
// communicator (ncclCommAbort) and throws an error naming the collective by its label
// (collective_timeout_error() for the timeout), which ends the job; on success the compute stream
// is made to wait for the completion event. Datatypes and reductions come from
// distributed/collective_types.h.
// Host tensors: the small CPU tensors that control traffic uses (the model check, loss and step
// agreement, top-k histograms) go through an MpiCommunicator over a duplicate of `mpi_comm`, as
// Horovod sends CPU tensors through MPI; CUDA tensors go through NCCL. Both keep issue order, so
// ranks that issue the same sequence of collectives never cross, and one sequence of labels
// numbers the collectives of both. An allgather's input and output must be on the same device.
// The core works on raw device pointers and cudaStream_t, so it compiles against any LibTorch; only
// the compute stream comes from LibTorch's current CUDA stream when LibTorch has CUDA
// (ATROUS_TORCH_HAS_CUDA), and is CUDA's legacy default stream otherwise.

#include "atrous/build_info.h"

#if ATROUS_HAS_NCCL
#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>

#include <memory>

#include "atrous/distributed/communicator.h"
#include "atrous/distributed/mpi_communicator.h"

namespace atrous::distributed {

class NcclCommunicator : public Communicator {
 public:
  // Collective over `mpi_comm`. device: the CUDA device of this rank. Validates options.
  NcclCommunicator(MPI_Comm mpi_comm, int device, const CommunicatorOptions& options);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

  // What NCCL, its stream and its pending work share (so an aborted communicator is not destroyed twice).
  struct Shared;

 protected:
  std::vector<c10::DeviceType> device_types() const override {
    return {c10::DeviceType::CPU, c10::DeviceType::CUDA};
  }
  WorkHandle do_allreduce(at::Tensor tensor, ReduceOp op, const CollectiveLabel& label) override;
  WorkHandle do_broadcast(at::Tensor tensor, int root, const CollectiveLabel& label) override;
  WorkHandle do_allgather(at::Tensor input, at::Tensor output, const CollectiveLabel& label) override;
  WorkHandle do_barrier(const CollectiveLabel& label) override;

 private:
  template <class Enqueue>
  WorkHandle launch(const CollectiveLabel& label, std::vector<at::Tensor> keep_alive, Enqueue enqueue);

  std::shared_ptr<Shared> shared_;
  std::unique_ptr<MpiCommunicator> host_;  // CPU tensors
  int rank_ = 0, size_ = 1;
};

// LibTorch's current CUDA stream on `device` when LibTorch has CUDA, else the legacy default stream.
cudaStream_t current_compute_stream(int device);

}  // namespace atrous::distributed

#endif  // ATROUS_HAS_NCCL
