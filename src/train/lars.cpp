#include "atrous/train/lars.h"

#include <ATen/ATen.h>

#include "atrous/core/error.h"

namespace atrous::train {

void Lars::step(double lr) {
  at::NoGradGuard no_grad;
  const bool adapt_all = options_.exclude_from_adaptation == AdaptationExclusion::none;
  for (const OptimizedParameter& parameter : parameters_) {
    const at::Tensor& grad = parameter.tensor.grad();
    if (!grad.defined()) continue;
    const at::Tensor& w = parameter.tensor;
    const at::Tensor g = parameter.multiplier == 1.0 ? grad : grad * parameter.multiplier;
    at::Tensor d, rate;
    if (adapt_all || parameter.decay) {
      const at::Tensor w_norm = w.norm(), g_norm = g.norm();
      const at::Tensor ratio = options_.lars_eta * w_norm / (g_norm + weight_decay_ * w_norm);
      const at::Tensor trust = at::where((w_norm > 0).logical_and(g_norm > 0), ratio, at::ones_like(ratio));
      d = weight_decay_ > 0 ? g + weight_decay_ * w : g;
      rate = trust * lr;
    } else {
      d = g;
      rate = at::scalar_tensor(lr, w.options());
    }
    at::Tensor& v = slot_or_zeros("momentum", parameter);
    v.mul_(options_.momentum).add_(d * rate);
    if (options_.nesterov)
      w.sub_(v * options_.momentum + d * rate);
    else
      w.sub_(v);
  }
  count_step();
}

}  // namespace atrous::train
