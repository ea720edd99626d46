#include "atrous/train/target_miou.h"

#include <iomanip>
#include <sstream>

#include "atrous/core/error.h"
#include "atrous/core/json.h"
#include "atrous/core/log.h"
#include "atrous/core/output_file.h"
#include "atrous/train/run_directory.h"

namespace atrous::train {
namespace {

std::string minutes_text(double seconds) {
  const int64_t s = int64_t(seconds + 0.5);
  std::ostringstream text;
  text << s / 60 << "m" << std::setw(2) << std::setfill('0') << s % 60 << "s";
  return text.str();
}

}  // namespace

TargetMiou::TargetMiou(double target, int64_t images_per_epoch, RunDirectory* run_dir, Logger& log)
    : target_(target), images_per_epoch_(images_per_epoch), run_dir_(run_dir), log_(log) {
  ATROUS_ASSERT(target > 0 && target <= 1 && images_per_epoch > 0, "target ", target, ", images per epoch ",
                images_per_epoch);
}

void TargetMiou::on_start(const RunStart& start) {
  (void)start;
  start_ = std::chrono::steady_clock::now();
}

void TargetMiou::record(const StepOutcome& outcome, const EvaluationSummary& summary) {
  ++evaluations_;
  last_step_ = outcome.step;
  last_images_ = outcome.step * outcome.images;
  if (summary.mean_iou > best_miou_) best_miou_ = summary.mean_iou, best_step_ = outcome.step;
  if (!reached_ && summary.mean_iou >= target_) {
    reached_ = true;
    step_ = outcome.step;
    images_ = last_images_;
    wall_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    miou_ = summary.mean_iou;
  }
  write_record();
}

void TargetMiou::write_record() const {
  if (!run_dir_) return;
  auto reached_number = [&](const std::string& value) { return reached_ ? value : std::string("null"); };
  std::ostringstream json;
  json << "{\"target_miou\": " << json_number(target_) << ", \"reached\": " << (reached_ ? "true" : "false")
       << ", \"step\": " << reached_number(std::to_string(step_))
       << ", \"epoch\": " << reached_number(json_number(double(images_) / double(images_per_epoch_)))
       << ", \"images\": " << reached_number(std::to_string(images_))
       << ", \"wall_s\": " << reached_number(json_number(wall_s_))
       << ", \"miou\": " << reached_number(json_number(miou_))
       << ", \"best_miou\": " << json_number(best_miou_) << ", \"best_step\": " << best_step_
       << ", \"evaluations\": " << evaluations_ << ", \"last_step\": " << last_step_
       << ", \"last_epoch\": " << json_number(double(last_images_) / double(images_per_epoch_)) << "}\n";
  write_file_atomically(run_dir_->path() + "/target.json", json.str());
}

void TargetMiou::on_finish(const RunEnd& end) {
  if (!run_dir_ || (end.preempted && !reached_)) return;
  std::ostringstream line;
  line << std::fixed << "target mIoU " << std::setprecision(1) << 100 * target_ << "% ";
  if (reached_) {
    line << "reached at step " << step_ << ": epoch " << std::setprecision(2)
         << double(images_) / double(images_per_epoch_) << ", " << images_ << " images, "
         << minutes_text(wall_s_) << " of training (mIoU " << std::setprecision(1) << 100 * miou_ << "%)";
  } else {
    line << "not reached in " << end.step << " steps";
    if (evaluations_ > 0)
      line << " (" << std::setprecision(2) << double(last_images_) / double(images_per_epoch_)
           << " epochs); best " << std::setprecision(1) << 100 * best_miou_ << "% at step " << best_step_;
  }
  log_.info(line.str());
}

}  // namespace atrous::train
