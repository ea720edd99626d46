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
  std::vector<at::Tensor> finite;
  for (const OptimizedParameter& parameter : parameters) {
    const at::Tensor& grad = parameter.tensor.grad();
    if (!grad.defined()) continue;
    grad.mul_(1.0 / scale_);
    finite.push_back(grad.isfinite().all().reshape({1}));
  }
  if (finite.empty()) return false;
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

}  // namespace atrous::train
