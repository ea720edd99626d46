#pragma once
// BatchNorm2d for atrous models: torchvision's parameter and buffer names (weight, bias,
// running_mean, running_var, num_batches_tracked), so torchvision's state dicts load, and
// synchronisable across ranks by the conversion pass of distributed/sync_batch_norm_pass.h.
//
// Training: normalises with the batch's statistics (the global batch's once synchronised) and
// updates the running statistics with `momentum` (torchvision 0.1; TF DeepLab's decay 0.9997 is
// momentum 0.0003). A batch of one value per channel (a batch of 1 after global pooling) has the
// batch variance 0, as in TF and the synchronised path (ATen's unbiased 0 / 0 made the running
// variance NaN). Evaluation: the running statistics, no communication.

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "atrous/distributed/sync_batch_norm.h"

namespace atrous::model {

class BatchNorm2dImpl : public torch::nn::Cloneable<BatchNorm2dImpl>,
                        public distributed::SynchronisableBatchNorm {
 public:
  explicit BatchNorm2dImpl(int64_t channels, double eps = 1e-5, double momentum = 0.1);

  void reset() override;
  at::Tensor forward(const at::Tensor& input);
  void synchronise_with(distributed::Communicator* comm) override { comm_ = comm; }
  bool synchronised() const { return comm_ != nullptr; }
  void pretty_print(std::ostream& stream) const override;

  int64_t channels;
  double eps, momentum;
  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  at::Tensor forward_one_value_per_channel(const at::Tensor& input);
  distributed::Communicator* comm_ = nullptr;  // not owned
};

TORCH_MODULE(BatchNorm2d);

}  // namespace atrous::model
