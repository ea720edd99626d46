#include "atrous/distributed/gpu_assignment.h"

#include "atrous/core/error.h"

namespace atrous::distributed {

GpuAssignment assign_gpu(int local_rank, int local_size, int visible_gpus, bool share_gpus) {
  if (visible_gpus < 1) return {-1, "no GPU is visible (CUDA_VISIBLE_DEVICES empty, or no driver)"};
  if (local_rank < visible_gpus) return {local_rank, ""};
  if (share_gpus) return {local_rank % visible_gpus, ""};
  return {-1, to_text("local rank ", local_rank, " has no GPU of its own: ", visible_gpus, " visible for ",
                      local_size, " ranks on this node; start at most ", visible_gpus,
                      " ranks per node (one per GPU), or set dist.share_gpus to let ranks share them")};
}

}  // namespace atrous::distributed
