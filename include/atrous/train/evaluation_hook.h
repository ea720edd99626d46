#pragma once
// EvaluationHook: evaluation inside training (train.eval_every, or train.eval_every_epochs turned
// into steps by RunOptions::evaluation_period).
//
// After every `every`-th step and after the last, on every rank (the evaluation is collective):
// the model goes to evaluation mode, `evaluation(step)` runs (the eval layer supplies it: see
// eval/training_evaluation.h), the model returns to training mode (set_training_mode, with
// model.freeze_bn), rank 0's TrainingReport records the summary, and the TargetMiou, when the run
// has train.target_miou, hears it on every rank. It runs before the step's checkpoint, so a
// checkpoint's step has been evaluated when the period divides it.

#include <functional>

#include "atrous/train/evaluation_summary.h"
#include "atrous/train/training_hook.h"

namespace atrous::train {

class TargetMiou;
class TrainingReport;

class EvaluationHook : public TrainingHook {
 public:
  // Collective on every rank; the summary is meaningful on rank 0 at least.
  using Evaluation = std::function<EvaluationSummary(int64_t step)>;

  // every >= 1; report: rank 0's, nullptr elsewhere; target: nullptr without train.target_miou.
  // net, report and target must outlive the hook.
  EvaluationHook(int64_t every, int64_t total_steps, Evaluation evaluation, model::DeepLabImpl& net,
                 bool freeze_bn, TrainingReport* report, TargetMiou* target = nullptr);

  void on_step_end(const StepOutcome& outcome) override;

 private:
  int64_t every_;
  int64_t total_steps_;
  Evaluation evaluation_;
  model::DeepLabImpl& net_;
  bool freeze_bn_;
  TrainingReport* report_;
  TargetMiou* target_;
};

}  // namespace atrous::train
