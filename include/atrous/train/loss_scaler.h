#pragma once
// LossScaler: dynamic loss scaling for train.precision = fp16, the rule of PyTorch's GradScaler.
//
// float16 keeps 5 exponent bits: gradients below about 6e-8 vanish. So the backward pass runs on
// loss x scale, and before the optimizer the gradients are divided by scale again (unscale), in place
// and in float32, before weight decay, multipliers and momentum see them (train/optimizer.h applies
// those to the unscaled gradient). When any gradient is inf or NaN after the gradient reduction (the
// scaled backward overflowed float16), the step is skipped: no weight, velocity or learning-rate
// state changes apart from the step count, and scale *= backoff. After growth_interval steps in a
// row without an overflow, scale *= growth. Scale starts at init_scale and never falls below
// min_scale: an overflow, or a non-finite loss, at min_scale is not explained by scaling, and stops
// the job with the non-finite loss message (train/step_agreement.h).
//
// Ranks agree: gradients are identical on every rank after the reduction, and the overflow flag goes
// through the step agreement besides, so every rank skips or applies alike. The state (scale, steps
// since the last overflow) is saved in checkpoints, so a resumed run scales exactly as an unbroken one.
// bf16 and fp32 need no scaling: the scaler is then disabled (scale 1, nothing skipped).

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "atrous/train/optimizer.h"

namespace atrous::train {

struct LossScalerSettings {
  double init_scale = 65536.0;  // 2^16, as torch.amp.GradScaler
  double growth = 2.0;
  double backoff = 0.5;
  int64_t growth_interval = 2000;
  double min_scale = 1.0;
};

class LossScaler final : public CheckpointSection {
 public:
  explicit LossScaler(bool enabled, const LossScalerSettings& settings = {});

  bool enabled() const { return enabled_; }
  // The factor the loss is multiplied by before backward (1 when disabled).
  double scale() const { return scale_; }
  int64_t good_steps() const { return good_steps_; }
  bool at_min_scale() const { return scale_ <= settings_.min_scale; }

  // Divides every defined gradient by scale() in place; true when any of them holds an inf or NaN.
  // One host read. On one GPU a few fused kernels for all gradients (ATen's
  // _amp_foreach_non_finite_check_and_unscale_, as PyTorch's GradScaler), elsewhere a few operators
  // per gradient. Disabled: changes nothing and returns false.
  bool unscale(const std::vector<OptimizedParameter>& parameters) const;
  // After a step: overflow true backs off (not below min_scale), false counts towards growth.
  void update(bool overflow);

  // Restores a checkpoint's state; scale 0 (a checkpoint without one) keeps init_scale.
  void restore(double scale, int64_t good_steps);
  // The checkpoint's section "loss_scaler" (train/checkpoint.h): scale (0 when disabled) and
  // good_steps (steps since the last overflow), restored as above.
  void save(SectionValues& out) const override;
  void restore(const SectionValues& values) override;

 private:
  bool enabled_;
  LossScalerSettings settings_;
  double scale_;
  int64_t good_steps_ = 0;
};

}  // namespace atrous::train
