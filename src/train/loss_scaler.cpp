#include "atrous/train/loss_scaler.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "atrous/core/error.h"

namespace atrous::train {

LossScaler::LossScaler(bool enabled, const LossScalerSettings& settings)
    : enabled_(enabled), settings_(settings), scale_(enabled ? settings.init_scale : 1.0) {
  ATROUS_ASSERT(settings.init_scale >= settings.min_scale && settings.min_scale > 0 && settings.growth > 1 &&
                    settings.backoff > 0 && settings.backoff < 1 && settings.growth_interval >= 1,
                "loss scaler settings");
}

bool LossScaler::unscale(const std::vector<OptimizedParameter>& parameters) const {
  if (!enabled_) return false;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (const OptimizedParameter& parameter : parameters)
    if (parameter.tensor.grad().defined()) grads.push_back(parameter.tensor.grad());
  if (grads.empty()) return false;
  const double inverse = 1.0 / scale_;
  const c10::Device device = grads.front().device();
  const bool one_gpu = device.is_cuda() && std::all_of(grads.begin(), grads.end(), [&](const at::Tensor& g) {
                         return g.device() == device;
                       });
  // ATen's fused kernel (CUDA only) checks the scaled values; with scale >= 1 dividing by a power of
  // two makes no value non-finite that was not, so that is the same test.
  if (one_gpu && scale_ >= 1.0) {
    at::Tensor found_inf = at::zeros({1}, grads.front().options().dtype(at::kFloat));
    const at::Tensor inverse_scale = at::full({1}, inverse, grads.front().options().dtype(at::kFloat));
    at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inverse_scale);
    return found_inf.item<float>() > 0;  // the one host read
  }
  std::vector<at::Tensor> finite;
  for (at::Tensor& grad : grads) {
    grad.mul_(inverse);
    finite.push_back(grad.isfinite().all().reshape({1}));
  }
  return !at::cat(finite).all().item<bool>();  // the one host read
}

void LossScaler::update(bool overflow) {
  if (!enabled_) return;
  if (overflow) {
    scale_ = std::max(settings_.min_scale, scale_ * settings_.backoff);
    good_steps_ = 0;
    return;
  }
  if (++good_steps_ >= settings_.growth_interval) {
    scale_ *= settings_.growth;
    good_steps_ = 0;
  }
}

void LossScaler::restore(double scale, int64_t good_steps) {
  if (!enabled_ || scale <= 0) return;
  scale_ = scale;
  good_steps_ = good_steps;
}

void LossScaler::save(SectionValues& out) const {
  out.set("scale", enabled_ ? scale_ : 0.0);
  out.set("good_steps", good_steps_);
}

void LossScaler::restore(const SectionValues& values) {
  restore(values.real("scale"), values.integer("good_steps"));
}

}  // namespace atrous::train
