#include "atrous/distributed/local_communicator.h"

#include "atrous/core/error.h"

namespace atrous::distributed {
namespace {

class CompletedWork : public Work {
 public:
  void wait() override {}
  bool is_completed() override { return true; }
};

WorkHandle completed() {
  return std::make_shared<CompletedWork>();
}

}  // namespace

WorkHandle LocalCommunicator::allreduce(at::Tensor tensor, ReduceOp op) {
  check_collective_tensor(tensor, "allreduce", tensor.device().type());
  check_reduce_dtype(tensor, op);
  return completed();
}

WorkHandle LocalCommunicator::broadcast(at::Tensor tensor, int root) {
  check_collective_tensor(tensor, "broadcast", tensor.device().type());
  ATROUS_ASSERT(root == 0, "broadcast root ", root, " in a job of one rank");
  return completed();
}

WorkHandle LocalCommunicator::allgather(at::Tensor input, at::Tensor output) {
  check_collective_tensor(input, "allgather", input.device().type());
  ATROUS_ASSERT(output.numel() == input.numel() && output.scalar_type() == input.scalar_type(),
                "allgather: output must match input in a job of one rank");
  output.view({-1}).copy_(input.view({-1}));
  return completed();
}

WorkHandle LocalCommunicator::barrier() {
  return completed();
}

}  // namespace atrous::distributed
