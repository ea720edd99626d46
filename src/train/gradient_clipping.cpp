#include "atrous/train/gradient_clipping.h"

#include <ATen/ATen.h>

#include <cmath>

namespace atrous::train {

double clip_gradient_norm(const std::vector<OptimizedParameter>& parameters, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads, norms;
  for (const OptimizedParameter& parameter : parameters) {
    const at::Tensor& grad = parameter.tensor.grad();
    if (!grad.defined()) continue;
    grads.push_back(grad);
    norms.push_back(at::linalg_vector_norm(grad, 2, c10::nullopt, false, at::kDouble));
  }
  if (grads.empty()) return 0.0;
  const double norm = at::stack(norms).norm().item<double>();
  if (max_norm > 0 && std::isfinite(norm)) {
    const double coefficient = max_norm / (norm + 1e-6);
    if (coefficient < 1.0) at::_foreach_mul_(grads, coefficient);
  }
  return norm;
}

}  // namespace atrous::train
