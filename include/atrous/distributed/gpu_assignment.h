#pragma once
// Which GPU a rank computes on.
//
// The rule is one GPU per rank: local rank r of a node takes GPU r, and on a node that shows fewer
// GPUs than it has ranks every rank is refused (NCCL refuses two ranks of one communicator on one GPU
// anyway, and a rank that started would only wait for the others).
//
// dist.share_gpus lifts the rule for checking multi-rank paths on a machine with fewer GPUs than
// ranks (a one-GPU workstation or CI node): local rank r takes GPU r mod gpus. The ranks on one GPU
// then take turns on it, so this is never faster than one rank per GPU. NCCL accepts them only when
// each rank sets a different NCCL_HOSTID: it then treats them as ranks of different hosts and connects
// them through its network transport (sockets). tools/gpu-check runs the GPU tests and a training
// that way.

#include <string>

namespace atrous::distributed {

struct GpuAssignment {
  int gpu = -1;         // the CUDA device index, when assigned
  std::string refusal;  // otherwise why not, for a UserError
};

// local_rank in [0, local_size); visible_gpus as CUDA reports them (CUDA_VISIBLE_DEVICES applied).
GpuAssignment assign_gpu(int local_rank, int local_size, int visible_gpus, bool share_gpus);

}  // namespace atrous::distributed
