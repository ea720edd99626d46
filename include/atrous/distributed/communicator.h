#pragma once
// Communicator: the collectives that data parallelism needs, behind one interface with one
// implementation per transport:
//   MpiCommunicator    (distributed/mpi_communicator.h)    CPU tensors, over MPI, on a background thread
//   LocalCommunicator  (distributed/local_communicator.h)  a single process: the fake for unit tests
//   (an NCCL backend for CUDA tensors joins them with the GPU work)
//
// Protocol. Every collective is asynchronous: the call checks its arguments, queues the operation
// and returns a Work handle at once; wait() blocks until it is done and rethrows its error. Every
// rank must issue the same collectives, with tensors of the same dtype and element count, in the
// same order (as in Horovod and PyTorch DDP); operations complete in the order they were issued.
// The communicator keeps each tensor alive until its operation is done; the caller must not touch
// a tensor's data between issuing an operation and its wait().
//
// A wait() that lasts longer than dist.timeout_s throws a UserError naming the collective, its
// sequence number and size: a rank died, hangs, or issued collectives in another order. The
// top-level handler (cli/guard.h) then aborts the job rather than letting it hang.

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

namespace atrous {
class OptionTable;
}

namespace atrous::distributed {

enum class ReduceOp { sum, average, max, min };
const char* reduce_op_name(ReduceOp op);

struct CommunicatorOptions {
  double timeout_s = 600;  // dist.timeout_s

  static void declare(OptionTable& table, CommunicatorOptions& options);
  void validate() const;
};

class Work {
 public:
  virtual ~Work() = default;
  // Blocks until the operation completed; rethrows its error. Throws UserError after the timeout.
  virtual void wait() = 0;
  virtual bool is_completed() = 0;
};
using WorkHandle = std::shared_ptr<Work>;

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // In place over every rank. Dtypes: float32, float64, float16, bfloat16, int32, int64, uint8
  // (average: floating types only; float16 and bfloat16 are summed in float32 per pair).
  virtual WorkHandle allreduce(at::Tensor tensor, ReduceOp op) = 0;
  // In place: every rank's tensor becomes root's.
  virtual WorkHandle broadcast(at::Tensor tensor, int root) = 0;
  // output holds size() * input.numel() elements of input's dtype: rank r's input at r * numel.
  virtual WorkHandle allgather(at::Tensor input, at::Tensor output) = 0;
  virtual WorkHandle barrier() = 0;
};

}  // namespace atrous::distributed

namespace atrous::distributed {

// Argument checks shared by the backends (NCCL's rule: every entry point checks its arguments
// first). A violation is a bug in the caller: InternalError naming the collective.
void check_collective_tensor(const at::Tensor& tensor, const char* collective, c10::DeviceType device);
void check_reduce_dtype(const at::Tensor& tensor, ReduceOp op);

// "allreduce(sum) of 1024 float32": how timeouts and errors name an operation.
std::string describe_collective(const char* collective, const at::Tensor& tensor);

}  // namespace atrous::distributed
