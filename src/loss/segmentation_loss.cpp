#include "atrous/loss/segmentation_loss.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "atrous/core/environment.h"
#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/loss/hard_example_mining.h"
#include "atrous/loss/pixel_losses.h"
#include "atrous/loss/top_k_selection.h"

namespace atrous::loss {
namespace {

double divide_maybe_zero(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : 0.0;
}

// Sums, over every rank, one value per entry.
at::Tensor summed_over_ranks(std::vector<double> values, distributed::Communicator& comm) {
  at::Tensor tensor = at::tensor(values, at::kDouble);
  comm.allreduce(tensor, distributed::ReduceOp::sum, distributed::CollectivePurpose::loss)->wait();
  return tensor;
}

// A report's values, read back: throws for invalid labels, else the entries and their weighted total.
LossValues values_of(const LossReport& report, const double* values) {
  throw_if_invalid_labels(values[0], values[1], report.classes, report.ignore_label);
  LossValues result;
  for (size_t e = 0; e < report.names.size(); ++e) {
    const double value = values[2 + e];
    result.entries.push_back({report.names[e], value});
    result.total += report.loss_weights[e] * value;
  }
  return result;
}

}  // namespace

const ChoiceValues<TopKScope>& top_k_scope_choices() {
  static const ChoiceValues<TopKScope> choices{{"local", TopKScope::local}, {"global", TopKScope::global}};
  return choices;
}

void LossOptions::declare(OptionTable& table, LossOptions& options) {
  table.add("loss.upsample_logits", &options.upsample_logits, true,
            "resize logits to the labels (bilinear); false resizes labels to the logits (nearest)",
            "true or false");
  table.add("loss.label_weights", &options.label_weights, std::string("1"),
            "weight of each class's pixels in the loss",
            "one number >= 0, or one per class, comma-separated");
  table.add("loss.top_k_percent_pixels", &options.top_k_percent_pixels, 1.0,
            "fraction of the hardest pixels kept by the loss (hard example mining); 1 keeps all",
            "a number in (0, 1]");
  table.add("loss.hard_example_mining_step", &options.hard_example_mining_step, 0,
            "steps over which the kept fraction falls linearly from 1 to top_k_percent_pixels; 0: at once",
            "an integer >= 0");
  table.add_choice(
      "loss.top_k_scope", &options.top_k_scope, TopKScope::local,
      "local: each rank mines its own pixels (TF); global: the hardest pixels of the whole global batch",
      top_k_scope_choices());
}

at::Tensor parse_label_weights(const std::string& text, int64_t num_classes) {
  std::vector<float> weights;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    char* end = nullptr;
    const float weight = std::strtof(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(weight) || weight < 0)
      bad_option("loss.label_weights", text, "one number >= 0, or one per class, comma-separated",
                 ATROUS_HERE);
    weights.push_back(weight);
  }
  if (std::none_of(weights.begin(), weights.end(), [](float weight) { return weight > 0; }))
    bad_option("loss.label_weights", text,
               "weights >= 0 of which at least one is > 0 (all 0: nothing is learnt)", ATROUS_HERE);
  if (weights.size() != 1 && static_cast<int64_t>(weights.size()) != num_classes)
    bad_option(
        "loss.label_weights", text,
        to_text("one weight, or exactly ", num_classes, " (one per class); ", weights.size(), " given"),
        ATROUS_HERE);
  return at::tensor(weights, at::kFloat);
}

void LossOptions::validate(int64_t num_classes) const {
  ATROUS_CHECK_OPTION(top_k_percent_pixels > 0 && top_k_percent_pixels <= 1, "loss.top_k_percent_pixels",
                      top_k_percent_pixels, "a number in (0, 1]");
  ATROUS_CHECK_OPTION(hard_example_mining_step >= 0, "loss.hard_example_mining_step",
                      hard_example_mining_step, "an integer >= 0");
  parse_label_weights(label_weights, num_classes);
}

SegmentationLoss::SegmentationLoss(const LossOptions& options, int64_t num_classes, int64_t ignore_label,
                                   distributed::Communicator& comm)
    : options_(options), num_classes_(num_classes), ignore_label_(ignore_label), comm_(comm) {
  ATROUS_ASSERT(num_classes >= 1, "num_classes = ", num_classes);
  options.validate(num_classes);
  global_ = options.top_k_scope == TopKScope::global;
  class_weights_ = parse_label_weights(options.label_weights, num_classes);
}

LossResult SegmentationLoss::operator()(const model::ScaleOutputs& outputs, const at::Tensor& labels,
                                        int64_t step) const {
  ATROUS_ASSERT(!outputs.empty(), "no logits to compute a loss of");
  std::vector<PixelLosses> pixels;
  for (const auto& output : outputs)
    pixels.push_back(weighted_pixel_losses(output.logits, labels, class_weights_on(output.logits.device()),
                                           ignore_label_,
                                           size_matching(options_.upsample_logits, output.align_corners)));
  return global_ ? global_loss(outputs, pixels, step) : local_loss(outputs, pixels, step);
}

const at::Tensor& SegmentationLoss::class_weights_on(c10::Device device) const {
  if (device == class_weights_.device()) return class_weights_;
  if (!device_class_weights_.defined() || device_class_weights_.device() != device)
    device_class_weights_ = class_weights_.to(device, /*non_blocking=*/true);  // the source lives on
  return device_class_weights_;
}

// Each entry: its kept sum over its divisor (the valid pixels, at least 1e-5, or the non-zero kept
// ones), all on the logits' device.
LossResult SegmentationLoss::local_loss(const model::ScaleOutputs& outputs,
                                        const std::vector<PixelLosses>& pixels, int64_t step) const {
  const bool mining = options_.top_k_percent_pixels < 1.0;
  LossResult result;
  std::vector<at::Tensor> values;
  for (size_t e = 0; e < outputs.size(); ++e) {
    const PixelLosses& p = pixels[e];
    at::Tensor kept_sum, divisor;
    if (mining) {
      const int64_t k = top_k_pixel_count(options_.top_k_percent_pixels, options_.hard_example_mining_step,
                                          step, p.values.numel());
      const DeviceSelection selection = local_top_k_on_device(p.values.detach(), k);
      kept_sum = (p.values * selection.weights).sum();
      divisor = selection.nonzero;
    } else {
      kept_sum = p.values.sum();
      divisor = p.valid.to(at::kDouble).clamp_min(1e-5);
    }
    const at::Tensor positive = divisor.gt(0);
    const at::Tensor zero = at::zeros({}, divisor.options());
    values.push_back(at::where(positive, kept_sum.detach().to(at::kDouble) / divisor, zero));
    // The factor rounded to float32, as a double scalar times a float32 tensor is.
    const at::Tensor factor = at::where(positive, outputs[e].loss_weight / divisor, zero).to(at::kFloat);
    const at::Tensor term = kept_sum * factor;
    result.backward = result.backward.defined() ? result.backward + term : term;
  }
  result.report = report_of(outputs, pixels, at::stack(values));
  return result;
}

LossResult SegmentationLoss::global_loss(const model::ScaleOutputs& outputs,
                                         const std::vector<PixelLosses>& pixels, int64_t step) const {
  const size_t entries = outputs.size();
  // Pixel and valid counts of the global batch.
  std::vector<at::Tensor> valid;
  for (const auto& p : pixels) valid.push_back(p.valid.to(at::kDouble));
  const at::Tensor my_valid = at::stack(valid).to(at::kCPU);
  std::vector<double> counts;
  for (size_t e = 0; e < entries; ++e)
    counts.insert(counts.end(), {double(pixels[e].values.numel()), my_valid[int64_t(e)].item<double>()});
  at::Tensor summed_counts = summed_over_ranks(counts, comm_);
  counts.assign(summed_counts.data_ptr<double>(), summed_counts.data_ptr<double>() + summed_counts.numel());

  const Selection selection = global_selection(pixels, counts, step);
  const bool mining = options_.top_k_percent_pixels < 1.0;

  // This rank's kept sums, summed over ranks for the values; this rank's share of the global
  // loss, times the number of ranks, to differentiate.
  std::vector<at::Tensor> kept_sums(entries);
  for (size_t e = 0; e < entries; ++e)
    kept_sums[e] = mining ? (pixels[e].values * selection.kept[e]).sum() : pixels[e].values.sum();
  const at::Tensor my_sums = at::stack(kept_sums).detach().to(at::kDouble).to(at::kCPU);
  const at::Tensor sums = summed_over_ranks(
      std::vector<double>(my_sums.data_ptr<double>(), my_sums.data_ptr<double>() + entries), comm_);
  const double scale = comm_.size();
  LossResult result;
  std::vector<double> values;
  for (size_t e = 0; e < entries; ++e) {
    const double divisor = selection.divisors[e];
    values.push_back(divide_maybe_zero(sums[int64_t(e)].item<double>(), divisor));
    const double weight = outputs[e].loss_weight;
    at::Tensor term = divisor > 0 ? kept_sums[e] * (weight * scale / divisor) : kept_sums[e] * 0.0;
    result.backward = result.backward.defined() ? result.backward + term : term;
  }
  result.report = report_of(outputs, pixels, at::tensor(values, at::kDouble));
  return result;
}

LossReport SegmentationLoss::report_of(const model::ScaleOutputs& outputs,
                                       const std::vector<PixelLosses>& pixels,
                                       const at::Tensor& entry_values) const {
  std::vector<at::Tensor> invalid;
  for (const auto& p : pixels) invalid.push_back(p.invalid_labels);
  const at::Tensor by_entry = at::stack(invalid);  // [entries, 2]: count, largest
  const at::Tensor summary = at::stack({by_entry.select(1, 0).sum(), by_entry.select(1, 1).max()});
  LossReport report;
  report.values = at::cat({summary, entry_values.to(summary.device())});
  for (const auto& output : outputs) {
    report.names.push_back(output.name);
    report.loss_weights.push_back(output.loss_weight);
  }
  report.classes = num_classes_;
  report.ignore_label = ignore_label_;
  return report;
}

LossValues LossReport::read() const {
  return read_losses({*this}).front();
}

std::vector<LossValues> read_losses(const std::vector<LossReport>& reports) {
  if (reports.empty()) return {};
  std::vector<at::Tensor> all;
  for (const auto& report : reports) all.push_back(report.values);
  const at::Tensor host = at::cat(all).to(at::kCPU).contiguous();
  std::vector<LossValues> result;
  const double* next = host.data_ptr<double>();
  for (const auto& report : reports) {
    result.push_back(values_of(report, next));
    next += report.values.numel();
  }
  return result;
}

SegmentationLoss::Selection SegmentationLoss::global_selection(const std::vector<PixelLosses>& pixels,
                                                               const std::vector<double>& counts,
                                                               int64_t step) const {
  const size_t entries = pixels.size();
  Selection selection{std::vector<at::Tensor>(entries), std::vector<double>(entries)};
  if (options_.top_k_percent_pixels >= 1.0) {
    for (size_t e = 0; e < entries; ++e) selection.divisors[e] = std::max(1e-5, counts[2 * e + 1]);
    return selection;
  }
  std::vector<at::Tensor> values;
  std::vector<int64_t> k;
  for (size_t e = 0; e < entries; ++e) {
    values.push_back(pixels[e].values.detach());
    k.push_back(top_k_pixel_count(options_.top_k_percent_pixels, options_.hard_example_mining_step, step,
                                  static_cast<int64_t>(counts[2 * e])));
  }
  const std::vector<TopKThreshold> thresholds = global_top_k(values, k, comm_);
  for (size_t e = 0; e < entries; ++e) {
    const TopKThreshold& threshold = thresholds[e];
    selection.kept[e] = selection_weights(values[e], threshold);
    selection.divisors[e] = static_cast<double>(nonzero_count(threshold));
  }
  return selection;
}

}  // namespace atrous::loss
