#include "atrous/distributed/local_communicator.h"

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

WorkHandle LocalCommunicator::do_allreduce(at::Tensor, ReduceOp, const CollectiveLabel&) {
  return completed();
}

WorkHandle LocalCommunicator::do_broadcast(at::Tensor, int, const CollectiveLabel&) {
  return completed();
}

WorkHandle LocalCommunicator::do_allgather(at::Tensor input, at::Tensor output, const CollectiveLabel&) {
  output.view({-1}).copy_(input.view({-1}));
  return completed();
}

WorkHandle LocalCommunicator::do_barrier(const CollectiveLabel&) {
  return completed();
}

}  // namespace atrous::distributed
