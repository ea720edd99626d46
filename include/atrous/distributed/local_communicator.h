#pragma once
// LocalCommunicator: the Communicator of a job with one rank, for unit tests and single-process
// tools. It takes CPU and CUDA tensors, and every operation completes before it returns: a
// reduction over one rank leaves the tensor as it is, a broadcast comes from rank 0 (the only
// root in range), an allgather copies input to output.

#include "atrous/distributed/communicator.h"

namespace atrous::distributed {

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }

 protected:
  std::vector<c10::DeviceType> device_types() const override {
    return {c10::DeviceType::CPU, c10::DeviceType::CUDA};
  }
  WorkHandle do_allreduce(at::Tensor tensor, ReduceOp op, const CollectiveLabel& label) override;
  WorkHandle do_broadcast(at::Tensor tensor, int root, const CollectiveLabel& label) override;
  WorkHandle do_allgather(at::Tensor input, at::Tensor output, const CollectiveLabel& label) override;
  WorkHandle do_barrier(const CollectiveLabel& label) override;
};

}  // namespace atrous::distributed
