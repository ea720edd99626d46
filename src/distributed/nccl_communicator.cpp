#include "atrous/distributed/nccl_communicator.h"

#if ATROUS_HAS_NCCL

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "atrous/core/error.h"
#include "atrous/distributed/blocking_deadline.h"
#include "atrous/distributed/collective_types.h"
#include "atrous/distributed/cuda_check.h"
#include "atrous/distributed/mpi_check.h"
#include "atrous/distributed/nccl_check.h"

#if ATROUS_TORCH_HAS_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

namespace atrous::distributed {

struct NcclCommunicator::Shared {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int device = 0;
  double timeout_s = 600;
  std::mutex mutex;
  bool aborted = false;

  // After an error or a timeout the communicator cannot be trusted again: abort it, once.
  void abort() {
    std::lock_guard<std::mutex> lock(mutex);
    if (aborted || comm == nullptr) return;
    aborted = true;
    ncclCommAbort(comm);
  }
};

cudaStream_t current_compute_stream(int device) {
#if ATROUS_TORCH_HAS_CUDA
  return c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).stream();
#else
  (void)device;
  return cudaStreamLegacy;
#endif
}

namespace {

class NcclWork : public Work {
 public:
  NcclWork(std::shared_ptr<NcclCommunicator::Shared> shared, cudaEvent_t done, const CollectiveLabel& label,
           std::vector<at::Tensor> keep_alive)
      : shared_(std::move(shared)), done_(done), label_(label), tensors_(std::move(keep_alive)) {}
  ~NcclWork() override { cudaEventDestroy(done_); }

  void wait() override {
    const auto start = std::chrono::steady_clock::now();
    while (!is_completed()) {
      ncclResult_t async = ncclSuccess;
      ATROUS_NCCL_CHECK(ncclCommGetAsyncError(shared_->comm, &async));
      if (async != ncclSuccess && async != ncclInProgress) {
        shared_->abort();
        throw LibraryError("NCCL", label_.text(), nccl_error_text(async), ATROUS_HERE);
      }
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
          shared_->timeout_s) {
        shared_->abort();
        throw collective_timeout_error(label_, shared_->timeout_s, "the NCCL communicator was aborted",
                                       ATROUS_HERE);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    ATROUS_CUDA_CHECK(cudaStreamWaitEvent(current_compute_stream(shared_->device), done_, 0));
  }

  bool is_completed() override {
    const cudaError_t state = cudaEventQuery(done_);
    if (state == cudaErrorNotReady) return false;
    ATROUS_CUDA_CHECK(state);
    return true;
  }

 private:
  std::shared_ptr<NcclCommunicator::Shared> shared_;
  cudaEvent_t done_;
  CollectiveLabel label_;
  std::vector<at::Tensor> tensors_;  // alive until the work is
};

}  // namespace

NcclCommunicator::NcclCommunicator(MPI_Comm mpi_comm, int device, const CommunicatorOptions& options)
    : shared_(std::make_shared<Shared>()) {
  options.validate();
  shared_->device = device;
  shared_->timeout_s = options.timeout_s;
  ATROUS_MPI_CHECK(MPI_Comm_rank(mpi_comm, &rank_));
  ATROUS_MPI_CHECK(MPI_Comm_size(mpi_comm, &size_));
  ATROUS_CUDA_CHECK(cudaSetDevice(device));
  const ScopedBlockingCall deadline("setting up NCCL (MPI_Bcast of its id, ncclCommInitRank)");
  ncclUniqueId id;
  if (rank_ == 0) ATROUS_NCCL_CHECK(ncclGetUniqueId(&id));
  ATROUS_MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, mpi_comm));
  setenv("NCCL_RUNTIME_CONNECT", "0", /*overwrite=*/0);  // connect now, not inside a later collective
  ATROUS_NCCL_CHECK(ncclCommInitRank(&shared_->comm, size_, id, rank_));
  ATROUS_CUDA_CHECK(cudaStreamCreateWithFlags(&shared_->stream, cudaStreamNonBlocking));
  host_ = std::make_unique<MpiCommunicator>(mpi_comm, options);
}

NcclCommunicator::~NcclCommunicator() {
  if (shared_->stream != nullptr) cudaStreamSynchronize(shared_->stream);
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (!shared_->aborted && shared_->comm != nullptr) ncclCommDestroy(shared_->comm);
    shared_->comm = nullptr;
  }
  if (shared_->stream != nullptr) cudaStreamDestroy(shared_->stream);
}

template <class Enqueue>
WorkHandle NcclCommunicator::launch(const CollectiveLabel& label, std::vector<at::Tensor> keep_alive,
                                    Enqueue enqueue) {
  ATROUS_CUDA_CHECK(cudaSetDevice(shared_->device));
  cudaEvent_t ready = nullptr, done = nullptr;
  ATROUS_CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
  ATROUS_CUDA_CHECK(cudaEventRecord(ready, current_compute_stream(shared_->device)));
  ATROUS_CUDA_CHECK(cudaStreamWaitEvent(shared_->stream, ready, 0));
  cudaEventDestroy(ready);  // released once recorded work completes
  enqueue(shared_->comm, shared_->stream);
  ATROUS_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  ATROUS_CUDA_CHECK(cudaEventRecord(done, shared_->stream));
  return std::make_shared<NcclWork>(shared_, done, label, std::move(keep_alive));
}

WorkHandle NcclCommunicator::do_allreduce(at::Tensor tensor, ReduceOp op, const CollectiveLabel& label) {
  if (tensor.is_cpu()) return host_->do_allreduce(tensor, op, label);
  return launch(label, {tensor}, [&](ncclComm_t comm, cudaStream_t stream) {
    ATROUS_NCCL_CHECK(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                                    nccl_datatype_of(tensor.scalar_type()), nccl_op_for(op), comm, stream));
  });
}

WorkHandle NcclCommunicator::do_broadcast(at::Tensor tensor, int root, const CollectiveLabel& label) {
  if (tensor.is_cpu()) return host_->do_broadcast(tensor, root, label);
  return launch(label, {tensor}, [&](ncclComm_t comm, cudaStream_t stream) {
    ATROUS_NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                                    nccl_datatype_of(tensor.scalar_type()), root, comm, stream));
  });
}

WorkHandle NcclCommunicator::do_allgather(at::Tensor input, at::Tensor output, const CollectiveLabel& label) {
  if (input.is_cpu()) return host_->do_allgather(input, output, label);  // output too: same device
  return launch(label, {input, output}, [&](ncclComm_t comm, cudaStream_t stream) {
    ATROUS_NCCL_CHECK(ncclAllGather(input.data_ptr(), output.data_ptr(), input.numel(),
                                    nccl_datatype_of(input.scalar_type()), comm, stream));
  });
}

WorkHandle NcclCommunicator::do_barrier(const CollectiveLabel& label) {
  // NCCL has no barrier: a one-element allreduce on the device orders every rank the same way.
  void* scratch = nullptr;
  ATROUS_CUDA_CHECK(cudaSetDevice(shared_->device));
  ATROUS_CUDA_CHECK(cudaMallocAsync(&scratch, sizeof(float), shared_->stream));
  ATROUS_CUDA_CHECK(cudaMemsetAsync(scratch, 0, sizeof(float), shared_->stream));
  WorkHandle work = launch(label, {}, [&](ncclComm_t comm, cudaStream_t stream) {
    ATROUS_NCCL_CHECK(ncclAllReduce(scratch, scratch, 1, ncclFloat32, ncclSum, comm, stream));
  });
  ATROUS_CUDA_CHECK(cudaFreeAsync(scratch, shared_->stream));
  return work;
}

}  // namespace atrous::distributed

#endif  // ATROUS_HAS_NCCL
