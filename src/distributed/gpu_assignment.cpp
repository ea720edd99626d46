#include "atrous/distributed/gpu_assignment.h"

#include "atrous/core/error.h"

namespace atrous::distributed {

GpuAssignment assign_gpu(int local_rank, int local_size, int visible_gpus, bool share_gpus) {
  if (visible_gpus < 1) return {-1, "no GPU is visible (CUDA_VISIBLE_DEVICES empty, or no driver)"};
  if (local_size <= visible_gpus) return {local_rank, ""};
  if (share_gpus) return {local_rank % visible_gpus, ""};
  // Every rank of the node is refused, so that no rank starts on a GPU and waits for the others.
  return {-1, to_text(visible_gpus, " GPU(s) visible for ", local_size, " ranks on this node (local rank ",
                      local_rank, "); start at most ", visible_gpus,
                      " ranks per node (one per GPU), or set dist.share_gpus to let ranks share them")};
}

}  // namespace atrous::distributed
