#pragma once
// TrainingStep: one optimizer step of `atrous train` on this rank, and what happened in it.
//
// run(steps_done), on every rank, in this order:
//   1. dropout is reseeded from (data.seed, step, rank), so a resumed run draws the same masks;
//   2. train.accumulate_steps micro-batches: the next batch of this rank's shard (rolling over into
//      the next epoch), forward over the image pyramid, the loss, backward of loss / accumulate_steps;
//      the GradReducer communicates on the last micro-batch only. When the loader fails on this rank
//      alone (a sample whose checksum fails, a read error: a UserError), the step goes on with a
//      stand-in batch (black images whose every label is the ignore label, as many as data.batch_size)
//      so that this rank still joins every collective of the step, and the step fails
//      (outcome.error is the loader's error): the job stops at the agreement, at once, instead of
//      the other ranks waiting for dist.timeout_s in the next collective;
//   3. the reducer's finish_step() waits for the last buckets;
//   4. the step's losses read back in one transfer; a label that is neither a class nor the ignore
//      label makes this rank's step fail (outcome.error, unless the loader's error came first)
//      instead of throwing before the agreement;
//   5. the step agreement (train/step_agreement.h, collective): losses averaged over ranks, the
//      ranks whose loss was not finite, the ranks whose step failed, whether any rank was asked to
//      stop, and whether the caller's checkpoint clock (checkpoint_time, set on rank 0 only) says a
//      checkpoint is due;
//   6. only when every rank's loss is finite and no rank failed: the global gradient norm, clipped
//      to optim.max_grad_norm when that is set (train/gradient_clipping.h; no collective: every rank
//      holds the same averaged gradients), lr = schedule(step), the optimizer step, zero_grad. Otherwise
//      nothing touches the weights or velocities (applied = false): with fp16 above its minimum loss scale
//      and no failed rank that is a skipped step (skipped = true, the scale backs off); else the caller
//      decides (the trainer stops every rank: through distributed::agree_on_errors with each failed rank's
//      error, or with nonfinite_loss_error).
// Every wait for a collective in it (gradient buckets, SyncBatchNorm, the loss, the agreement) is
// accounted by purpose in outcome.times.comm, from the CollectiveWaits that the communicators
// report into (distributed/collective_waits.h).
// With a timeline (observe/timeline.h) each phase is a span: data, forward, loss, backward (per
// micro-batch), gradients (finish_step), agreement (unscaling and the agreement), optimizer.
// The calling thread runs all of it; the loader's reader threads and the communicator's thread work
// beside it. Every rank must call run() the same number of times (it holds collectives).

#include <cstdint>
#include <exception>

#include "atrous/distributed/collective_waits.h"
#include "atrous/model/precision.h"
#include "atrous/train/loss_scaler.h"
#include "atrous/train/step_agreement.h"

namespace atrous {
namespace data {
class Loader;
struct Batch;
}  // namespace data
namespace distributed {
class GradReducer;
class World;
}  // namespace distributed
namespace model {
class DeepLabImpl;
}
namespace observe {
class Timeline;
}
}  // namespace atrous

namespace atrous::train {

class LrSchedule;
class Optimizer;

struct StepTimes {
  double step = 0;                // seconds of the whole step
  double data_wait = 0;           // of which waiting for the loader
  distributed::WaitSeconds comm;  // of which waiting for collectives, per purpose (exposed communication)
};

struct StepOutcome {
  int64_t step = 0;          // steps done after this one: the 1-based number of this step
  int64_t epoch = 0;         // the epoch of the step's last batch
  StepAgreement agreement;   // losses, non-finite and failed ranks, preemption: the same on every rank
  std::exception_ptr error;  // why this rank's step failed (a UserError); null unless it did
  bool applied = false;      // the optimizer step was taken
  bool skipped = false;      // not taken: fp16 gradients overflowed, the loss scale backed off
  double loss_scale = 1;     // the scale this step's backward ran with (train/loss_scaler.h)
  double lr = 0;             // the learning rate applied (0 when not applied)
  double grad_norm = 0;      // the global gradient norm before clipping (0 when not applied)
  int64_t images = 0;        // images in the global batch: data.batch_size x ranks x accumulate_steps
  StepTimes times;
};

// What a step works with; the trainer owns them, and they outlive the TrainingStep.
struct TrainingParts {
  const distributed::World& world;
  data::Loader& loader;
  model::DeepLabImpl& net;
  loss::SegmentationLoss& loss;
  distributed::GradReducer& reducer;
  distributed::Communicator& comm;
  const distributed::CollectiveWaits& waits;  // where every communicator of the step accounts its waits
  Optimizer& optimizer;
  const LrSchedule& schedule;
  LossScaler& scaler;
  observe::Timeline* timeline = nullptr;  // train.timeline: the phases of each step; nullptr = none
};

struct StepSettings {
  int batch_size = 8;                                   // data.batch_size: images per rank per micro-batch
  int accumulate_steps = 1;                             // train.accumulate_steps
  int64_t seed = 0;                                     // data.seed
  model::Precision precision = model::Precision::fp32;  // train.precision
  double max_grad_norm = 0;                             // optim.max_grad_norm: 0 = no clipping
  int crop_size = 513;                                  // data.crop_size: the stand-in batch's size
  int ignore_label = 255;                               // the pack's: every label of the stand-in batch
};

class TrainingStep {
 public:
  TrainingStep(const TrainingParts& parts, const StepSettings& settings);

  // Starts delivering data from (epoch, position): 0, 0 for a new run, a checkpoint's on resume.
  void start(int64_t epoch, int64_t position);
  // One step after `steps_done` steps. Collective. checkpoint_time: this rank's clock says a
  // checkpoint by time is due (agreed into outcome.agreement.checkpoint_time).
  StepOutcome run(int64_t steps_done, bool checkpoint_time = false);
  // Where the data stands after the last batch: the epoch and the samples of it this rank consumed.
  int64_t epoch() const { return epoch_; }
  int64_t position() const { return position_; }

 private:
  data::Batch next_batch();
  // The next batch, or after a loader error (kept in data_error_, for this and the step's later
  // micro-batches) the stand-in batch of step 2.
  data::Batch next_batch_or_stand_in();
  // One micro-batch: data, forward, loss, backward of loss / accumulate_steps (the reducer
  // communicates when `last`); its loss report, still on the device, is added to `reports`.
  void micro_batch(int64_t steps_done, bool last, std::vector<loss::LossReport>& reports);

  TrainingParts parts_;
  StepSettings settings_;
  int64_t images_per_step_ = 0;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
  std::exception_ptr data_error_;  // the loader's error in this step; null when it delivered
};

// Training mode for the whole model, with batch-norm statistics frozen when freeze_bn
// (model.freeze_bn): how training starts, and how it resumes after an evaluation.
void set_training_mode(model::DeepLabImpl& net, bool freeze_bn);

}  // namespace atrous::train
