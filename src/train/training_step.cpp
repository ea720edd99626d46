#include "atrous/train/training_step.h"

#include <ATen/ATen.h>

#include <chrono>
#include <optional>

#include "atrous/data/loader.h"
#include "atrous/distributed/grad_reducer.h"
#include "atrous/distributed/world.h"
#include "atrous/model/batch_norm.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/precision.h"
#include "atrous/observe/timeline.h"
#include "atrous/train/gradient_clipping.h"
#include "atrous/train/lr_schedule.h"
#include "atrous/train/optimizer.h"
#include "atrous/train/preemption.h"

namespace atrous::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Dropout's randomness, a function of (seed, step, rank) alone, so a resumed run repeats it.
void seed_dropout(int64_t seed, int64_t step, int rank) {
  at::manual_seed(uint64_t(seed) * 1000003u + uint64_t(step) * 4099u + uint64_t(rank));
}

// The step's loss reports read back in one transfer (a synchronisation with a GPU, so it comes after
// every backward is queued), averaged over the micro-batches. The loss's UserError for a label that
// is neither a class nor the ignore label is returned, not thrown, with the entries named and 0, so
// that this rank still takes part in the step agreement with as many values as the others.
std::exception_ptr read_step_losses(const std::vector<loss::LossReport>& reports, double& total,
                                    std::vector<loss::LossEntry>& entries) {
  const double accumulate = double(reports.size());
  std::vector<loss::LossValues> read;
  try {
    read = loss::read_losses(reports);
  } catch (const UserError&) {
    for (const std::string& name : reports.front().names) entries.push_back({name, 0.0});
    return std::current_exception();
  }
  for (const loss::LossValues& values : read) {
    total += values.total / accumulate;
    if (entries.empty()) entries.assign(values.entries.size(), {});
    for (size_t e = 0; e < entries.size(); ++e) {
      entries[e].name = values.entries[e].name;
      entries[e].value += values.entries[e].value / accumulate;
    }
  }
  return nullptr;
}

}  // namespace

void set_training_mode(model::DeepLabImpl& net, bool freeze_bn) {
  net.train();
  if (!freeze_bn) return;
  for (const auto& module : net.modules())
    if (dynamic_cast<model::BatchNorm2dImpl*>(module.get())) module->train(false);
}

TrainingStep::TrainingStep(const TrainingParts& parts, const StepSettings& settings)
    : parts_(parts),
      settings_(settings),
      images_per_step_(int64_t(settings.batch_size) * parts.world.size() * settings.accumulate_steps) {}

void TrainingStep::start(int64_t epoch, int64_t position) {
  epoch_ = epoch;
  position_ = position;
  parts_.loader.start_epoch(uint64_t(epoch), position);
}

data::Batch TrainingStep::next_batch() {
  std::optional<data::Batch> batch = parts_.loader.next();
  if (!batch) {
    ++epoch_;
    parts_.loader.start_epoch(uint64_t(epoch_), 0);
    batch = parts_.loader.next();
    ATROUS_ASSERT(batch.has_value(), "an epoch without batches");
  }
  position_ = batch->position;
  return std::move(*batch);
}

data::Batch TrainingStep::next_batch_or_stand_in() {
  if (!data_error_) {
    try {
      return next_batch();
    } catch (const UserError&) {
      data_error_ = std::current_exception();
    }
  }
  const int64_t size = settings_.batch_size, crop = settings_.crop_size;
  data::Batch stand_in;
  stand_in.images = at::zeros({size, 3, crop, crop}, at::kFloat);
  stand_in.labels = at::full({size, crop, crop}, settings_.ignore_label, at::kByte);
  stand_in.position = position_;
  return stand_in;
}

void TrainingStep::micro_batch(int64_t steps_done, bool last, std::vector<loss::LossReport>& reports) {
  observe::Timeline* timeline = parts_.timeline;
  const c10::Device device = parts_.world.device();
  const int accumulate = settings_.accumulate_steps;
  std::optional<data::Batch> batch;
  at::Tensor images, labels;
  {
    const observe::TimelineSpan span(timeline, "data");
    batch = next_batch_or_stand_in();
    // Both copies before forward is queued: from pageable memory a copy to a GPU may wait for the
    // work queued before it.
    images = batch->images.to(device, /*non_blocking=*/true);
    labels = batch->labels.to(device, /*non_blocking=*/true);
  }
  parts_.reducer.set_synchronize(last);
  model::ScaleOutputs outputs;
  {
    const observe::TimelineSpan span(timeline, "forward");
    const model::AutocastScope autocast(settings_.precision, device);
    outputs = parts_.net.forward(images);
  }
  std::optional<observe::TimelineSpan> loss_span(std::in_place, timeline, "loss");
  model::upcast_logits(outputs);
  const loss::LossResult result = parts_.loss(outputs, labels.to(at::kLong), steps_done);
  loss_span.reset();
  {
    const observe::TimelineSpan span(timeline, "backward");
    (result.backward * (parts_.scaler.scale() / double(accumulate))).backward();
  }
  reports.push_back(result.report);
}

StepOutcome TrainingStep::run(int64_t steps_done, bool checkpoint_time) {
  const auto start = Clock::now();
  const double waited_before = parts_.loader.seconds_waited();
  const distributed::WaitSeconds comm_before = parts_.waits.snapshot();
  const int accumulate = settings_.accumulate_steps;
  seed_dropout(settings_.seed, steps_done, parts_.world.rank());
  observe::Timeline* timeline = parts_.timeline;
  if (timeline) timeline->set_step(steps_done + 1);
  std::vector<loss::LossReport> reports;
  data_error_ = nullptr;
  for (int micro = 0; micro < accumulate; ++micro) micro_batch(steps_done, micro + 1 == accumulate, reports);
  StepOutcome outcome;
  outcome.step = steps_done + 1;
  outcome.images = images_per_step_;
  {
    const observe::TimelineSpan span(timeline, "gradients");
    parts_.reducer.finish_step();
  }
  outcome.loss_scale = parts_.scaler.scale();
  {
    const observe::TimelineSpan span(timeline, "agreement");
    std::vector<loss::LossEntry> entries;
    double total = 0;
    outcome.error = read_step_losses(reports, total, entries);  // the step's one read of the loss
    if (data_error_) outcome.error = data_error_;
    const bool overflow = parts_.scaler.unscale(parts_.optimizer.parameters());
    outcome.agreement = agree_on_step(parts_.comm, total, entries, preemption_requested(), checkpoint_time,
                                      overflow, outcome.error != nullptr);
  }
  const bool finite = outcome.agreement.nonfinite_ranks.empty() && !outcome.agreement.overflow &&
                      outcome.agreement.failed_ranks.empty();
  const observe::TimelineSpan optimizer_span(timeline, "optimizer");
  if (finite) {
    outcome.grad_norm = clip_gradient_norm(parts_.optimizer.parameters(), settings_.max_grad_norm);
    outcome.lr = parts_.schedule(steps_done);
    parts_.optimizer.step(outcome.lr);
    outcome.applied = true;
  } else if (outcome.agreement.failed_ranks.empty() && parts_.scaler.enabled() &&
             !parts_.scaler.at_min_scale()) {
    outcome.skipped = true;  // fp16 overflow: back off and go on
  }
  if (outcome.agreement.failed_ranks.empty()) parts_.scaler.update(!finite);  // a failed step stops the job
  if (outcome.applied || outcome.skipped) parts_.optimizer.zero_grad();
  outcome.epoch = epoch_;
  outcome.times.step = seconds_since(start);
  outcome.times.data_wait = parts_.loader.seconds_waited() - waited_before;
  outcome.times.comm = parts_.waits.snapshot() - comm_before;
  return outcome;
}

}  // namespace atrous::train
