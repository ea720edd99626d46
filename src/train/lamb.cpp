#include "atrous/train/lamb.h"

#include <ATen/ATen.h>

#include <cmath>

#include "atrous/core/error.h"

namespace atrous::train {

void Lamb::step(double lr) {
  at::NoGradGuard no_grad;
  const bool adapt_all = options_.exclude_from_adaptation == AdaptationExclusion::none;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double t = double(steps() + 1);
  const double first_correction = 1.0 - std::pow(b1, t), second_correction = 1.0 - std::pow(b2, t);
  for (const OptimizedParameter& parameter : parameters_) {
    const at::Tensor& grad = parameter.tensor.grad();
    if (!grad.defined()) continue;
    const at::Tensor& w = parameter.tensor;
    const at::Tensor g = parameter.multiplier == 1.0 ? grad : grad * parameter.multiplier;
    at::Tensor& m = slot_or_zeros("exp_avg", parameter);
    at::Tensor& v = slot_or_zeros("exp_avg_sq", parameter);
    m.mul_(b1).add_(g, 1.0 - b1);
    v.mul_(b2).addcmul_(g, g, 1.0 - b2);
    at::Tensor u = (m / first_correction) / ((v / second_correction).sqrt_().add_(options_.eps));
    if (adapt_all || parameter.decay) {
      if (weight_decay_ > 0) u.add_(w, weight_decay_);
      const at::Tensor w_norm = w.norm(), u_norm = u.norm();
      const at::Tensor trust =
          at::where((w_norm > 0).logical_and(u_norm > 0), w_norm / u_norm, at::ones_like(w_norm));
      w.sub_(u * (trust * lr));
    } else {
      w.sub_(u, lr);
    }
  }
  count_step();
}

}  // namespace atrous::train
