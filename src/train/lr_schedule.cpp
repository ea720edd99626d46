#include "atrous/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "atrous/core/options.h"

namespace atrous::train {

const ChoiceValues<LrPolicy>& lr_policy_choices() {
  static const ChoiceValues<LrPolicy> choices{
      {"poly", LrPolicy::poly}, {"step", LrPolicy::step}, {"cosine", LrPolicy::cosine}};
  return choices;
}

const ChoiceValues<LrScaling>& lr_scaling_choices() {
  static const ChoiceValues<LrScaling> choices{
      {"none", LrScaling::none}, {"linear", LrScaling::linear}, {"sqrt", LrScaling::sqrt}};
  return choices;
}

void LrOptions::declare(OptionTable& table, LrOptions& options) {
  table.add("optim.lr", &options.lr, 0.007, "base learning rate", "a number > 0");
  table.add_choice("optim.lr_policy", &options.lr_policy, LrPolicy::poly, "learning-rate policy",
                   lr_policy_choices());
  table.add("optim.power", &options.power, 0.9, "poly policy's power", "a number > 0");
  table.add("optim.end_lr", &options.end_lr, 0.0, "the rate poly and cosine end at", "a number >= 0");
  table.add("optim.step_size", &options.step_size, 2000, "step policy: steps between decays",
            "an integer >= 1");
  table.add("optim.gamma", &options.gamma, 0.1, "step policy: decay factor", "a number in (0, 1]");
  table.add("optim.warmup_steps", &options.warmup_steps, 0, "linear warmup from lr / steps to lr",
            "an integer >= 0");
  table.add("optim.warmup_epochs", &options.warmup_epochs, 0.0,
            "linear warmup over this many epochs of the training data (steps rounded up); not with "
            "optim.warmup_steps",
            "a finite number >= 0");
  table.add("optim.slow_start_steps", &options.slow_start_steps, 0,
            "steps trained at optim.slow_start_lr first", "an integer >= 0");
  table.add("optim.slow_start_lr", &options.slow_start_lr, 1e-4, "the slow-start learning rate",
            "a number > 0");
  table.add_choice("optim.lr_scaling", &options.lr_scaling, LrScaling::none,
                   "linear: multiply optim.lr by global batch / optim.base_batch (Goyal et al.); sqrt: by its "
                   "square root",
                   lr_scaling_choices());
  table.add("optim.base_batch", &options.base_batch, 16, "the global batch optim.lr is meant for",
            "an integer >= 1");
}

namespace {
constexpr double max_float_rate = 1e38;  // below float32's largest, 3.4e38
}  // namespace

LrSchedule::LrSchedule(const LrOptions& o, int64_t steps, int64_t global_batch, double steps_per_epoch)
    : options_(o), steps_(steps) {
  // Learning rates reach the optimizer as float32 scalars: each must be finite there too.
  auto float_rate = [](double value, double lowest) { return value >= lowest && value <= max_float_rate; };
  ATROUS_CHECK_OPTION(o.lr > 0 && float_rate(o.lr, 0), "optim.lr", o.lr,
                      "a finite number > 0 (at most 1e38)");
  ATROUS_CHECK_OPTION(o.power > 0 && std::isfinite(o.power), "optim.power", o.power, "a finite number > 0");
  ATROUS_CHECK_OPTION(float_rate(o.end_lr, 0), "optim.end_lr", o.end_lr,
                      "a finite number >= 0 (at most 1e38)");
  ATROUS_CHECK_OPTION(o.step_size >= 1, "optim.step_size", o.step_size, "an integer >= 1");
  ATROUS_CHECK_OPTION(o.gamma > 0 && o.gamma <= 1, "optim.gamma", o.gamma, "a number in (0, 1]");
  ATROUS_CHECK_OPTION(o.warmup_steps >= 0, "optim.warmup_steps", o.warmup_steps, "an integer >= 0");
  ATROUS_CHECK_OPTION(o.slow_start_steps >= 0, "optim.slow_start_steps", o.slow_start_steps,
                      "an integer >= 0");
  ATROUS_CHECK_OPTION(o.slow_start_lr > 0 && float_rate(o.slow_start_lr, 0), "optim.slow_start_lr",
                      o.slow_start_lr, "a finite number > 0 (at most 1e38)");
  ATROUS_CHECK_OPTION(o.base_batch >= 1, "optim.base_batch", o.base_batch, "an integer >= 1");
  ATROUS_CHECK_OPTION(o.warmup_epochs >= 0 && o.warmup_epochs <= 1e6, "optim.warmup_epochs", o.warmup_epochs,
                      "a finite number >= 0 (at most 1e6)");
  ATROUS_CHECK_OPTION(o.warmup_epochs == 0 || o.warmup_steps == 0, "optim.warmup_epochs", o.warmup_epochs,
                      to_text("0 when optim.warmup_steps is given (", o.warmup_steps,
                              "): give the warmup in steps or in epochs, not both"));
  ATROUS_ASSERT(steps_per_epoch > 0, "steps per epoch ", steps_per_epoch);
  const double ratio = double(global_batch) / double(o.base_batch);
  base_ = o.lr_scaling == LrScaling::linear ? o.lr * ratio
          : o.lr_scaling == LrScaling::sqrt ? o.lr * std::sqrt(ratio)
                                            : o.lr;
  ATROUS_CHECK_OPTION(base_ <= max_float_rate, "optim.lr", o.lr,
                      to_text("a rate that stays at most 1e38 after ", choice_name(lr_scaling_choices(), o.lr_scaling),
                              " scaling by ", global_batch, " / ", o.base_batch));
  warmup_steps_ = o.warmup_epochs > 0 ? int64_t(std::ceil(o.warmup_epochs * steps_per_epoch - 1e-9))
                                      : int64_t(o.warmup_steps);
}

double LrSchedule::operator()(int64_t step) const {
  if (step < options_.slow_start_steps) return options_.slow_start_lr;
  const double progress = steps_ > 0 ? std::min(1.0, double(step) / double(steps_)) : 1.0;
  double lr = base_;
  if (options_.lr_policy == LrPolicy::poly)
    lr = (base_ - options_.end_lr) * std::pow(1.0 - progress, options_.power) + options_.end_lr;
  else if (options_.lr_policy == LrPolicy::step)
    lr = base_ * std::pow(options_.gamma, double(step / options_.step_size));
  else
    lr = options_.end_lr + (base_ - options_.end_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
  if (step < warmup_steps_) lr *= double(step + 1) / double(warmup_steps_);
  return lr;
}

}  // namespace atrous::train
