#include "atrous/train/training_report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "atrous/core/error.h"
#include "atrous/core/json.h"
#include "atrous/core/log.h"
#include "atrous/observe/event_file_writer.h"
#include "atrous/train/run_directory.h"

namespace atrous::train {
namespace {

std::string duration_text(double seconds) {
  const int64_t s = int64_t(std::llround(std::max(0.0, seconds)));
  std::ostringstream text;
  if (s >= 3600)
    text << s / 3600 << "h" << std::setw(2) << std::setfill('0') << s % 3600 / 60 << "m";
  else
    text << s / 60 << "m" << std::setw(2) << std::setfill('0') << s % 60 << "s";
  return text.str();
}

// The collectives a step waits for, and their short names in the progress line.
struct StepPurpose {
  distributed::CollectivePurpose purpose;
  const char* short_name;
};
const std::array<StepPurpose, 4> step_purposes{{{distributed::CollectivePurpose::gradients, "grad"},
                                                {distributed::CollectivePurpose::batch_norm, "bn"},
                                                {distributed::CollectivePurpose::loss, "loss"},
                                                {distributed::CollectivePurpose::step_agreement, "agree"}}};

// "grad 1%, bn 10%, loss 0%, agree 1%"
std::string comm_parts_text(const distributed::WaitSeconds& comm, double seconds) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(0);
  for (size_t p = 0; p < step_purposes.size(); ++p)
    text << (p ? ", " : "") << step_purposes[p].short_name << " "
         << 100 * comm[step_purposes[p].purpose] / seconds << "%";
  return text.str();
}

}  // namespace

TrainingReport::TrainingReport(RunDirectory& run_dir, Logger& log, int64_t total_steps, int log_every,
                               observe::EventFileWriter* events)
    : run_dir_(run_dir), log_(log), events_(events), total_steps_(total_steps), log_every_(log_every) {}

void TrainingReport::on_finish(const RunEnd& end) {
  (void)end;
  if (events_) events_->flush();
}

void TrainingReport::on_step_end(const StepOutcome& outcome) {
  interval_.step += outcome.times.step;
  interval_.data_wait += outcome.times.data_wait;
  interval_.comm += outcome.times.comm;
  interval_steps_ += 1;
  interval_images_ += outcome.images;
  if (outcome.skipped) ++skipped_steps_;
  if (outcome.applied) grad_norm_ = outcome.grad_norm;
  seconds_per_step_ =
      seconds_per_step_ == 0 ? outcome.times.step : 0.9 * seconds_per_step_ + 0.1 * outcome.times.step;
  if (outcome.step % log_every_ == 0 || outcome.step == total_steps_) log_interval(outcome);
}

void TrainingReport::log_interval(const StepOutcome& outcome) {
  const StepAgreement& agreed = outcome.agreement;
  const double seconds = std::max(interval_.step, 1e-9);
  const double images_per_s = double(interval_images_) / seconds;
  const double data = interval_.data_wait / seconds, comm = interval_.comm.total() / seconds;
  std::ostringstream line;
  line << std::fixed << "step " << outcome.step << "/" << total_steps_ << "  loss " << std::setprecision(4)
       << agreed.total << " (";
  for (size_t e = 0; e < agreed.entries.size(); ++e)
    line << (e ? ", " : "") << agreed.entries[e].name << " " << agreed.entries[e].value;
  line << ")  lr " << std::setprecision(5) << outcome.lr << "  gnorm " << std::setprecision(3) << grad_norm_
       << "  " << std::setprecision(1) << images_per_s
       << " img/s  data " << std::setprecision(0) << 100 * data << "%  comm " << 100 * comm << "% ("
       << comm_parts_text(interval_.comm, seconds) << ")  eta "
       << duration_text(seconds_per_step_ * double(total_steps_ - outcome.step));
  const bool show_scale = outcome.loss_scale != 1.0 || skipped_steps_ > 0;
  if (show_scale)
    line << "  scale " << std::setprecision(0) << outcome.loss_scale << " (skipped " << skipped_steps_ << ")";
  log_.info(line.str());
  if (events_) {
    std::vector<observe::ScalarValue> scalars{{"loss/total", agreed.total}};
    for (const loss::LossEntry& entry : agreed.entries)
      scalars.push_back({"loss/" + entry.name, entry.value});
    scalars.insert(scalars.end(), {{"train/lr", outcome.lr},
                                   {"train/grad_norm", grad_norm_},
                                   {"train/images_per_s", images_per_s},
                                   {"train/step_seconds", seconds / double(interval_steps_)},
                                   {"time/data_wait", data},
                                   {"comm/exposed", comm}});
    for (const StepPurpose& part : step_purposes)
      scalars.push_back({std::string("comm/") + distributed::collective_purpose_name(part.purpose),
                         interval_.comm[part.purpose] / seconds});
    if (show_scale)
      scalars.insert(scalars.end(), {{"precision/loss_scale", outcome.loss_scale},
                                     {"precision/skipped_steps", double(skipped_steps_)}});
    events_->add(outcome.step, scalars);
    events_->flush();
  }

  std::ostringstream json;
  json << "{\"step\": " << outcome.step << ", \"epoch\": " << outcome.epoch
       << ", \"loss\": " << json_number(agreed.total) << ", \"losses\": {";
  for (size_t e = 0; e < agreed.entries.size(); ++e)
    json << (e ? ", " : "") << json_string(agreed.entries[e].name) << ": "
         << json_number(agreed.entries[e].value);
  json << "}, \"lr\": " << json_number(outcome.lr) << ", \"grad_norm\": " << json_number(grad_norm_)
       << ", \"images_per_s\": " << json_number(images_per_s)
       << ", \"step_seconds\": " << json_number(seconds / double(interval_steps_))
       << ", \"data_wait\": " << json_number(data) << ", \"exposed_comm\": " << json_number(comm)
       << ", \"comm\": {";
  for (size_t p = 0; p < step_purposes.size(); ++p)
    json << (p ? ", " : "") << json_string(distributed::collective_purpose_name(step_purposes[p].purpose))
         << ": " << json_number(interval_.comm[step_purposes[p].purpose] / seconds);
  json << "}, \"loss_scale\": " << json_number(outcome.loss_scale)
       << ", \"skipped_steps\": " << skipped_steps_ << "}";
  run_dir_.append_metrics(json.str());
  interval_ = StepTimes{};
  interval_steps_ = 0;
  interval_images_ = 0;
}

void TrainingReport::record_evaluation(int64_t step, const EvaluationSummary& summary) {
  std::ostringstream line;  // the headline figures of the record, in its own JSON form
  line << "evaluation at step " << step << ": {\"miou\": " << json_number(summary.mean_iou)
       << ", \"pixel_accuracy\": " << json_number(summary.pixel_accuracy)
       << ", \"classes_counted\": " << summary.classes_counted << ", \"samples\": " << summary.samples << "}";
  log_.info(line.str());
  run_dir_.append_metrics(to_text("{\"step\": ", step, ", \"eval\": ", summary.metrics, "}"));
  if (!events_) return;
  std::vector<observe::ScalarValue> scalars{{"eval/miou", summary.mean_iou},
                                            {"eval/pixel_accuracy", summary.pixel_accuracy}};
  for (const auto& [name, iou] : summary.class_iou) scalars.push_back({"eval_iou/" + name, iou});
  std::vector<observe::ImageValue> images;
  if (!summary.preview.png.empty())
    images.push_back({"eval/predictions", int32_t(summary.preview.height), int32_t(summary.preview.width),
                      observe::colorspace_rgb, summary.preview.png});
  events_->add(step, scalars, images);
  events_->flush();
}

}  // namespace atrous::train
