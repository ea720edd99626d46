#include "atrous/train/training_report.h"

#include <ATen/ATen.h>

#include <cmath>
#include <iomanip>
#include <sstream>

#include "atrous/core/log.h"
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

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  std::ostringstream text;
  text << std::setprecision(8) << value;
  return text.str();
}

}  // namespace

StepAgreement agree_on_step(distributed::Communicator& comm, double total,
                            const std::vector<loss::LossEntry>& entries, bool global_scope, bool preempt) {
  (void)global_scope;  // local: averaged over ranks; global: equal on all ranks, so the mean is the value
  const int world = comm.size();
  const size_t n = entries.size();
  bool finite = std::isfinite(total);
  for (const auto& entry : entries) finite = finite && std::isfinite(entry.value);
  at::Tensor values = at::zeros({int64_t(1 + n + world + 1)}, at::kDouble);
  double* v = values.data_ptr<double>();
  v[0] = finite ? total : 0.0;
  for (size_t e = 0; e < n; ++e) v[1 + e] = std::isfinite(entries[e].value) ? entries[e].value : 0.0;
  v[1 + n + comm.rank()] = finite ? 0.0 : 1.0;
  v[1 + n + world] = preempt ? 1.0 : 0.0;
  comm.allreduce(values, distributed::ReduceOp::sum)->wait();
  v = values.data_ptr<double>();

  StepAgreement agreed;
  agreed.total = v[0] / world;
  std::ostringstream text;
  for (size_t e = 0; e < n; ++e) {
    agreed.entries.push_back({entries[e].name, v[1 + e] / world});
    text << (e ? ", " : "") << entries[e].name << " " << entries[e].value;
  }
  for (int r = 0; r < world; ++r)
    if (v[1 + n + r] > 0) agreed.nonfinite_ranks.push_back(r);
  agreed.entries_text = "this rank's entries: " + text.str();
  agreed.preempted = v[1 + n + world] > 0;
  return agreed;
}

TrainingReport::TrainingReport(RunDirectory& run_dir, Logger& log, int64_t total_steps)
    : run_dir_(run_dir), log_(log), total_steps_(total_steps) {}

void TrainingReport::step(const StepRecord& record, bool log_now) {
  interval_.step += record.times.step;
  interval_.data_wait += record.times.data_wait;
  interval_.exposed_comm += record.times.exposed_comm;
  interval_steps_ += 1;
  interval_images_ += record.global_images;
  seconds_per_step_ =
      seconds_per_step_ == 0 ? record.times.step : 0.9 * seconds_per_step_ + 0.1 * record.times.step;
  if (!log_now) return;

  const double seconds = std::max(interval_.step, 1e-9);
  const double images_per_s = double(interval_images_) / seconds;
  const double data = interval_.data_wait / seconds, comm = interval_.exposed_comm / seconds;
  std::ostringstream line;
  line << std::fixed << "step " << record.step << "/" << total_steps_ << "  loss " << std::setprecision(4)
       << record.loss << " (";
  for (size_t e = 0; e < record.entries.size(); ++e)
    line << (e ? ", " : "") << record.entries[e].name << " " << record.entries[e].value;
  line << ")  lr " << std::setprecision(5) << record.lr << "  " << std::setprecision(1) << images_per_s
       << " img/s  data " << std::setprecision(0) << 100 * data << "%  comm " << 100 * comm << "%  eta "
       << duration_text(seconds_per_step_ * double(total_steps_ - record.step));
  log_.info(line.str());

  std::ostringstream json;
  json << "{\"step\": " << record.step << ", \"epoch\": " << record.epoch
       << ", \"loss\": " << json_number(record.loss) << ", \"losses\": {";
  for (size_t e = 0; e < record.entries.size(); ++e)
    json << (e ? ", " : "") << "\"" << record.entries[e].name
         << "\": " << json_number(record.entries[e].value);
  json << "}, \"lr\": " << json_number(record.lr) << ", \"images_per_s\": " << json_number(images_per_s)
       << ", \"step_seconds\": " << json_number(seconds / double(interval_steps_))
       << ", \"data_wait\": " << json_number(data) << ", \"exposed_comm\": " << json_number(comm) << "}";
  run_dir_.append_metrics(json.str());
  interval_ = StepTimes{};
  interval_steps_ = 0;
  interval_images_ = 0;
}

void TrainingReport::evaluation(int64_t step, const std::string& json) {
  log_.info("evaluation at step ", step, ": ", json.substr(0, json.find(", \"iou\"")), "}");
  run_dir_.append_metrics(to_text("{\"step\": ", step, ", \"eval\": ", json, "}"));
}

}  // namespace atrous::train
