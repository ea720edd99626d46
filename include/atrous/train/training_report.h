#pragma once
// TrainingReport (rank 0 only): the hook that tells the user how training goes.
//
// Every train.log_every steps and at the last step, one progress line
//   step 120/2000  loss 0.8312 (merged 0.8312)  lr 0.00652  gnorm 1.204  23.1 img/s  data 2%
//     comm 6% (grad 1%, bn 4%, loss 0%, agree 1%)  eta 4m05s          (one line)
// and one JSON object in RUN_DIR/metrics.jsonl:
//   {"step": 120, "epoch": 3, "loss": 0.8312, "losses": {"merged": 0.8312}, "lr": 0.00652,
//    "grad_norm": 1.204, "images_per_s": 23.1, "step_seconds": 0.35, "data_wait": 0.02, "exposed_comm": 0.06,
//    "comm": {"gradients": 0.01, "batch_norm": 0.04, "loss_reduction": 0.0, "step_agreement": 0.01},
//    "loss_scale": 1, "skipped_steps": 0}
// Under train.precision fp16 the line ends with "  scale 32768 (skipped 3)": the loss scale of the
// last step and the steps skipped for float16 overflow since the run (or its resumption) started.
// gnorm / grad_norm is the global gradient norm of the log step (of the last applied step before it
// when it was skipped), before clipping (optim.max_grad_norm, train/gradient_clipping.h).
// Rates and fractions are averages over the steps since the previous log step; the ETA uses a
// smoothed step time. comm is rank 0's time waiting for collectives (distributed/collective_waits.h),
// as a fraction of the step: exposed_comm is the sum of the four purposes a step waits for. Each evaluation
// inside training (train/evaluation_hook.h) adds a log line and
// {"step": N, "eval": <the metrics object of `atrous eval`>}.
//
// With an event file (train.tensorboard, observe/event_file_writer.h) the same figures go to
// TensorBoard at the same steps, the file flushed (and fsynced) at each log step and at the end:
//   loss/total, loss/<entry>                        the agreed losses
//   train/lr, train/grad_norm, train/images_per_s, train/step_seconds
//   time/data_wait, comm/exposed, comm/<purpose>    fractions of the step, as in the JSON
//   precision/loss_scale, precision/skipped_steps   when the line shows them (fp16)
//   eval/miou, eval/pixel_accuracy, eval_iou/<class>   (classes absent from both left out)
//   eval/predictions                                an image: image | ground truth | prediction

#include <string>

#include "atrous/train/evaluation_summary.h"
#include "atrous/train/training_hook.h"

namespace atrous {
class Logger;
namespace observe {
class EventFileWriter;
}
}  // namespace atrous

namespace atrous::train {

class RunDirectory;

class TrainingReport : public TrainingHook {
 public:
  // events: rank 0's TensorBoard file, or nullptr; it must outlive the report.
  TrainingReport(RunDirectory& run_dir, Logger& log, int64_t total_steps, int log_every,
                 observe::EventFileWriter* events = nullptr);

  // Accounts the step; at a log step also prints and records it.
  void on_step_end(const StepOutcome& outcome) override;
  void record_evaluation(int64_t step, const EvaluationSummary& summary);
  void on_finish(const RunEnd& end) override;

 private:
  void log_interval(const StepOutcome& outcome);

  RunDirectory& run_dir_;
  Logger& log_;
  observe::EventFileWriter* events_;
  int64_t total_steps_;
  int log_every_;
  StepTimes interval_;
  int64_t interval_steps_ = 0;
  int64_t interval_images_ = 0;
  int64_t skipped_steps_ = 0;
  double grad_norm_ = 0;  // of the last applied step
  double seconds_per_step_ = 0;  // smoothed, for the ETA
};

}  // namespace atrous::train
