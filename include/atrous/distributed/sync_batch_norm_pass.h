#pragma once
// The conversion pass that turns a model's batch norms into synchronised ones (dist.sync_bn).
//
// LibTorch modules have no virtual forward, so a module cannot be swapped for another behind its
// parent's back; instead every batch norm of an atrous model is a distributed::SynchronisableBatchNorm
// (model/batch_norm.h) and the pass switches each one to the communicator. A plain
// torch::nn::BatchNorm2d found in the model cannot be synchronised and is an InternalError naming
// its path (a model must use model::BatchNorm2d).

#include <torch/nn/module.h>

#include "atrous/distributed/communicator.h"

namespace atrous::distributed {

// Returns how many batch norms now synchronise. comm == nullptr switches them back to local.
int64_t convert_to_sync_batch_norm(torch::nn::Module& root, Communicator* comm);

}  // namespace atrous::distributed
