#pragma once
// LocalCommunicator: the Communicator of a job with one rank, for unit tests and single-process
// tools. Every operation completes before it returns: a reduction over one rank leaves the tensor
// as it is, a broadcast must come from rank 0, an allgather copies input to output.

#include "atrous/distributed/communicator.h"

namespace atrous::distributed {

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }

  WorkHandle allreduce(at::Tensor tensor, ReduceOp op) override;
  WorkHandle broadcast(at::Tensor tensor, int root) override;
  WorkHandle allgather(at::Tensor input, at::Tensor output) override;
  WorkHandle barrier() override;
};

}  // namespace atrous::distributed
