#include "atrous/train/evaluation_hook.h"

#include "atrous/core/error.h"
#include "atrous/model/deeplab.h"
#include "atrous/train/target_miou.h"
#include "atrous/train/training_report.h"

namespace atrous::train {

EvaluationHook::EvaluationHook(int64_t every, int64_t total_steps, Evaluation evaluation,
                               model::DeepLabImpl& net, bool freeze_bn, TrainingReport* report,
                               TargetMiou* target)
    : every_(every),
      total_steps_(total_steps),
      evaluation_(std::move(evaluation)),
      net_(net),
      freeze_bn_(freeze_bn),
      report_(report),
      target_(target) {
  ATROUS_ASSERT(every_ >= 1 && evaluation_, "an evaluation hook needs a period and an evaluation");
}

void EvaluationHook::on_step_end(const StepOutcome& outcome) {
  if (outcome.step % every_ != 0 && outcome.step != total_steps_) return;
  net_.eval();
  const EvaluationSummary summary = evaluation_(outcome.step);
  set_training_mode(net_, freeze_bn_);
  if (report_) report_->record_evaluation(outcome.step, summary);
  if (target_) target_->record(outcome, summary);
}

}  // namespace atrous::train
