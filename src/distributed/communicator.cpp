#include "atrous/distributed/communicator.h"

#include "atrous/core/error.h"
#include "atrous/core/options.h"

namespace atrous::distributed {

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return "sum";
    case ReduceOp::average:
      return "average";
    case ReduceOp::max:
      return "max";
    case ReduceOp::min:
      return "min";
  }
  return "?";
}

void CommunicatorOptions::declare(OptionTable& table, CommunicatorOptions& options) {
  table.add("dist.timeout_s", &options.timeout_s, 600.0,
            "seconds a collective may take before the job is stopped with an error naming it",
            "a number > 0");
}

void CommunicatorOptions::validate() const {
  ATROUS_CHECK_OPTION(timeout_s > 0, "dist.timeout_s", timeout_s, "a number > 0");
}

void check_collective_tensor(const at::Tensor& tensor, const char* collective, c10::DeviceType device) {
  ATROUS_ASSERT(tensor.defined(), collective, ": undefined tensor");
  ATROUS_ASSERT(tensor.is_contiguous(), collective, ": the tensor must be contiguous");
  ATROUS_ASSERT(tensor.device().type() == device, collective, ": a ", tensor.device().str(),
                " tensor given to a communicator for ", c10::DeviceTypeName(device), " tensors");
}

void check_reduce_dtype(const at::Tensor& tensor, ReduceOp op) {
  ATROUS_ASSERT(op != ReduceOp::average || at::isFloatingType(tensor.scalar_type()),
                "allreduce(average) needs a floating tensor, not ", tensor.scalar_type());
}

std::string describe_collective(const char* collective, const at::Tensor& tensor) {
  return to_text(collective, " of ", tensor.numel(), " ", tensor.scalar_type());
}

}  // namespace atrous::distributed
