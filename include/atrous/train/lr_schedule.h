#pragma once
// The learning rate at each step, as TF DeepLab's get_model_learning_rate, plus linear warmup and
// the linear scaling rule for large global batches.
//
//   base     = optim.lr, times global_batch / optim.base_batch with optim.lr_scaling = linear
//   poly     (base - end_lr) * (1 - step / steps)^power + end_lr           (TF's default, power 0.9)
//   step     base * gamma^floor(step / step_size)
//   cosine   end_lr + (base - end_lr) * (1 + cos(pi * step / steps)) / 2
//   warmup   for step < warmup_steps the rate above times (step + 1) / warmup_steps
//   slow start  for step < slow_start_steps: slow_start_lr (TF's slow_start_learning_rate), which
//            takes precedence over warmup
// `step` counts optimizer steps from 0.

#include <cstdint>
#include <string>

#include "atrous/core/options.h"

namespace atrous::train {

enum class LrPolicy { poly, step, cosine };
enum class LrScaling { none, linear };
const ChoiceValues<LrPolicy>& lr_policy_choices();    // poly, step, cosine
const ChoiceValues<LrScaling>& lr_scaling_choices();  // none, linear

struct LrOptions {
  double lr = 0.007;                       // optim.lr
  LrPolicy lr_policy = LrPolicy::poly;     // optim.lr_policy
  double power = 0.9;                      // optim.power
  double end_lr = 0;                       // optim.end_lr
  int step_size = 2000;                    // optim.step_size (policy step)
  double gamma = 0.1;                      // optim.gamma (policy step)
  int warmup_steps = 0;                    // optim.warmup_steps
  int slow_start_steps = 0;                // optim.slow_start_steps
  double slow_start_lr = 1e-4;             // optim.slow_start_lr
  LrScaling lr_scaling = LrScaling::none;  // optim.lr_scaling
  int base_batch = 16;                     // optim.base_batch: the global batch optim.lr is meant for

  static void declare(OptionTable& table, LrOptions& options);
};

class LrSchedule {
 public:
  // Validates the options (OptionError naming them). steps: the run's optimizer steps.
  LrSchedule(const LrOptions& options, int64_t steps, int64_t global_batch);
  double operator()(int64_t step) const;
  double base_lr() const { return base_; }

 private:
  LrOptions options_;
  int64_t steps_;
  double base_;
};

}  // namespace atrous::train
