#pragma once
// The learning rate at each step, as TF DeepLab's get_model_learning_rate, plus linear warmup and
// the scaling rules for large global batches.
//
//   base     = optim.lr, times global_batch / optim.base_batch with optim.lr_scaling = linear (Goyal
//            et al.), times sqrt(global_batch / optim.base_batch) with sqrt (Krizhevsky; LAMB's rule)
//   poly     (base - end_lr) * (1 - step / steps)^power + end_lr           (TF's default, power 0.9)
//   step     base * gamma^floor(step / step_size)
//   cosine   end_lr + (base - end_lr) * (1 + cos(pi * step / steps)) / 2
//   warmup   for step < warmup_steps the rate above times (step + 1) / warmup_steps; warmup_steps is
//            optim.warmup_steps, or ceil(optim.warmup_epochs x steps per epoch) when that is given
//            instead, so that a recipe warms up over the same images at every global batch
//   slow start  for step < slow_start_steps: slow_start_lr (TF's slow_start_learning_rate), which
//            takes precedence over warmup
// `step` counts optimizer steps from 0.

#include <cstdint>
#include <string>

#include "atrous/core/options.h"

namespace atrous::train {

enum class LrPolicy { poly, step, cosine };
enum class LrScaling { none, linear, sqrt };
const ChoiceValues<LrPolicy>& lr_policy_choices();    // poly, step, cosine
const ChoiceValues<LrScaling>& lr_scaling_choices();  // none, linear, sqrt

struct LrOptions {
  double lr = 0.007;                       // optim.lr
  LrPolicy lr_policy = LrPolicy::poly;     // optim.lr_policy
  double power = 0.9;                      // optim.power
  double end_lr = 0;                       // optim.end_lr
  int step_size = 2000;                    // optim.step_size (policy step)
  double gamma = 0.1;                      // optim.gamma (policy step)
  int warmup_steps = 0;                    // optim.warmup_steps
  double warmup_epochs = 0;                // optim.warmup_epochs (not with warmup_steps)
  int slow_start_steps = 0;                // optim.slow_start_steps
  double slow_start_lr = 1e-4;             // optim.slow_start_lr
  LrScaling lr_scaling = LrScaling::none;  // optim.lr_scaling
  int base_batch = 16;                     // optim.base_batch: the global batch optim.lr is meant for

  static void declare(OptionTable& table, LrOptions& options);
};

class LrSchedule {
 public:
  // Validates the options (OptionError naming them). steps: the run's optimizer steps;
  // steps_per_epoch: optimizer steps in one epoch of the training data (> 0).
  LrSchedule(const LrOptions& options, int64_t steps, int64_t global_batch, double steps_per_epoch = 1);
  double operator()(int64_t step) const;
  double base_lr() const { return base_; }
  int64_t warmup_steps() const { return warmup_steps_; }

 private:
  LrOptions options_;
  int64_t steps_;
  double base_;
  int64_t warmup_steps_ = 0;
};

}  // namespace atrous::train
