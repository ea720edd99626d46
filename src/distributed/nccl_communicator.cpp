#include "atrous/distributed/nccl_communicator.h"

#if ATROUS_HAS_NCCL

#include <chrono>
#include <mutex>
#include <thread>

#include "atrous/core/error.h"
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

ncclDataType_t nccl_type(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat:
      return ncclFloat32;
    case at::kDouble:
      return ncclFloat64;
    case at::kHalf:
      return ncclFloat16;
    case at::kBFloat16:
      return ncclBfloat16;
    case at::kInt:
      return ncclInt32;
    case at::kLong:
      return ncclInt64;
    case at::kByte:
      return ncclUint8;
    default:
      break;
  }
  throw InternalError(to_text("no NCCL datatype for tensors of ", dtype), ATROUS_HERE);
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return ncclSum;
    case ReduceOp::average:
      return ncclAvg;
    case ReduceOp::max:
      return ncclMax;
    case ReduceOp::min:
      return ncclMin;
  }
  throw InternalError("unknown ReduceOp", ATROUS_HERE);
}

class NcclWork : public Work {
 public:
  NcclWork(std::shared_ptr<NcclCommunicator::Shared> shared, cudaEvent_t done, std::string description,
           std::vector<at::Tensor> keep_alive)
      : shared_(std::move(shared)),
        done_(done),
        description_(std::move(description)),
        tensors_(std::move(keep_alive)) {}
  ~NcclWork() override { cudaEventDestroy(done_); }

  void wait() override {
    const auto start = std::chrono::steady_clock::now();
    while (!is_completed()) {
      ncclResult_t async = ncclSuccess;
      ATROUS_NCCL_CHECK(ncclCommGetAsyncError(shared_->comm, &async));
      if (async != ncclSuccess && async != ncclInProgress) {
        shared_->abort();
        throw LibraryError("NCCL", description_, nccl_error_text(async), ATROUS_HERE);
      }
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
          shared_->timeout_s) {
        shared_->abort();
        throw UserError(
            to_text(description_, " did not complete within dist.timeout_s = ", shared_->timeout_s,
                    " s: a rank died or hangs, or the ranks issued collectives in different orders; "
                    "the NCCL communicator was aborted"),
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
  std::string description_;
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
  ncclUniqueId id;
  if (rank_ == 0) ATROUS_NCCL_CHECK(ncclGetUniqueId(&id));
  ATROUS_MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, mpi_comm));
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
WorkHandle NcclCommunicator::launch(std::string description, std::vector<at::Tensor> keep_alive,
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
  return std::make_shared<NcclWork>(
      shared_, done, to_text("collective #", sequence_++, " (", description, ")"), std::move(keep_alive));
}

WorkHandle NcclCommunicator::allreduce(at::Tensor tensor, ReduceOp op) {
  if (tensor.is_cpu()) return host_->allreduce(tensor, op);
  check_collective_tensor(tensor, "allreduce", c10::DeviceType::CUDA);
  check_reduce_dtype(tensor, op);
  return launch(
      to_text(describe_collective("allreduce", tensor), " ", reduce_op_name(op)), {tensor},
      [&](ncclComm_t comm, cudaStream_t stream) {
        ATROUS_NCCL_CHECK(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                                        nccl_type(tensor.scalar_type()), nccl_op(op), comm, stream));
      });
}

WorkHandle NcclCommunicator::broadcast(at::Tensor tensor, int root) {
  if (tensor.is_cpu()) return host_->broadcast(tensor, root);
  check_collective_tensor(tensor, "broadcast", c10::DeviceType::CUDA);
  ATROUS_ASSERT(root >= 0 && root < size_, "broadcast root ", root, " outside [0, ", size_, ")");
  return launch(to_text(describe_collective("broadcast", tensor), " from rank ", root), {tensor},
                [&](ncclComm_t comm, cudaStream_t stream) {
                  ATROUS_NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                                                  nccl_type(tensor.scalar_type()), root, comm, stream));
                });
}

WorkHandle NcclCommunicator::allgather(at::Tensor input, at::Tensor output) {
  if (input.is_cpu() && output.is_cpu()) return host_->allgather(input, output);
  check_collective_tensor(input, "allgather", c10::DeviceType::CUDA);
  check_collective_tensor(output, "allgather", c10::DeviceType::CUDA);
  ATROUS_ASSERT(output.scalar_type() == input.scalar_type() && output.numel() == input.numel() * size_,
                "allgather: output must hold ", input.numel(), " x ", size_, " elements of ",
                input.scalar_type());
  return launch(describe_collective("allgather", input), {input, output},
                [&](ncclComm_t comm, cudaStream_t stream) {
                  ATROUS_NCCL_CHECK(ncclAllGather(input.data_ptr(), output.data_ptr(), input.numel(),
                                                  nccl_type(input.scalar_type()), comm, stream));
                });
}

WorkHandle NcclCommunicator::barrier() {
  // NCCL has no barrier: a one-element allreduce on the device orders every rank the same way.
  void* scratch = nullptr;
  ATROUS_CUDA_CHECK(cudaSetDevice(shared_->device));
  ATROUS_CUDA_CHECK(cudaMallocAsync(&scratch, sizeof(float), shared_->stream));
  ATROUS_CUDA_CHECK(cudaMemsetAsync(scratch, 0, sizeof(float), shared_->stream));
  WorkHandle work = launch("barrier", {}, [&](ncclComm_t comm, cudaStream_t stream) {
    ATROUS_NCCL_CHECK(ncclAllReduce(scratch, scratch, 1, ncclFloat32, ncclSum, comm, stream));
  });
  ATROUS_CUDA_CHECK(cudaFreeAsync(scratch, shared_->stream));
  return work;
}

}  // namespace atrous::distributed

#endif  // ATROUS_HAS_NCCL
