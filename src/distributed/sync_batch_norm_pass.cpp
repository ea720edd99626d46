#include "atrous/distributed/sync_batch_norm_pass.h"

#include <torch/nn/modules/batchnorm.h>

#include "atrous/core/error.h"
#include "atrous/distributed/sync_batch_norm.h"

namespace atrous::distributed {

namespace {

// Switches one module if it is a synchronisable batch norm; refuses torch's own BatchNorm2d.
int64_t convert_one(torch::nn::Module& module, const std::string& path, Communicator* comm) {
  if (auto* norm = dynamic_cast<SynchronisableBatchNorm*>(&module)) {
    norm->synchronise_with(comm);
    return 1;
  }
  ATROUS_ASSERT(
      dynamic_cast<torch::nn::BatchNorm2dImpl*>(&module) == nullptr, "module '", path,
      "' is a torch::nn::BatchNorm2d, which cannot be synchronised; build it as model::BatchNorm2d");
  return 0;
}

}  // namespace

int64_t convert_to_sync_batch_norm(torch::nn::Module& root, Communicator* comm) {
  int64_t converted = convert_one(root, "(root)", comm);
  for (const auto& item : root.named_modules(/*name_prefix=*/"", /*include_self=*/false))
    converted += convert_one(*item.value(), item.key(), comm);
  return converted;
}

}  // namespace atrous::distributed
