#include "atrous/model/batch_norm.h"

#include <ATen/ATen.h>

#include "atrous/core/error.h"

namespace atrous::model {

BatchNorm2dImpl::BatchNorm2dImpl(int64_t channels, double eps, double momentum)
    : channels(channels), eps(eps), momentum(momentum) {
  ATROUS_ASSERT(channels > 0, "BatchNorm2d needs channels > 0, got ", channels);
  reset();
}

void BatchNorm2dImpl::reset() {
  weight = register_parameter("weight", at::ones({channels}));
  bias = register_parameter("bias", at::zeros({channels}));
  running_mean = register_buffer("running_mean", at::zeros({channels}));
  running_var = register_buffer("running_var", at::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
}

at::Tensor BatchNorm2dImpl::forward(const at::Tensor& input) {
  ATROUS_ASSERT(input.dim() == 4 && input.size(1) == channels, "BatchNorm2d(", channels, ") needs [N, ",
                channels, ", H, W] input, got ", input.sizes());
  if (is_training()) {
    at::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  if (is_training() && comm_ != nullptr)
    return distributed::sync_batch_norm(input, {weight, bias, running_mean, running_var, momentum, eps},
                                        *comm_);
  if (is_training() && input.numel() == channels) return forward_one_value_per_channel(input);
  return at::batch_norm(input, weight, bias, running_mean, running_var, is_training(), momentum, eps,
                        /*cudnn_enabled=*/true);
}

// ATen's running variance of one value is its unbiased variance 0 / 0 = NaN (torch.nn refuses such a
// batch; a batch of 1 in ASPP's image-pooling branch is one). As TF's fused batch norm and the
// synchronised path (n - 1 taken as at least 1): the batch variance is 0, the running mean moves
// towards the value.
at::Tensor BatchNorm2dImpl::forward_one_value_per_channel(const at::Tensor& input) {
  {
    at::NoGradGuard no_grad;
    const at::Tensor value = input.detach().reshape({channels}).to(running_mean.scalar_type());
    running_mean.mul_(1 - momentum).add_(value, momentum);
    running_var.mul_(1 - momentum);
  }
  return at::batch_norm(input, weight, bias, /*running_mean=*/{}, /*running_var=*/{}, /*training=*/true,
                        momentum, eps, /*cudnn_enabled=*/true);
}

void BatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "BatchNorm2d(" << channels << (comm_ != nullptr ? ", synchronised)" : ")");
}

}  // namespace atrous::model
