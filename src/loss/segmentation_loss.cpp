#include "atrous/loss/segmentation_loss.h"

#include <ATen/ATen.h>

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

SegmentationLoss::Selection SegmentationLoss::select_pixels(const std::vector<PixelLosses>& pixels,
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
  std::vector<TopKThreshold> thresholds =
      global_ ? global_top_k(values, k, comm_) : std::vector<TopKThreshold>{};
  for (size_t e = 0; e < entries; ++e) {
    const TopKThreshold threshold = global_ ? thresholds[e] : local_top_k(values[e], k[e]);
    selection.kept[e] = selection_weights(values[e], threshold);
    selection.divisors[e] = static_cast<double>(nonzero_count(threshold));
  }
  return selection;
}

LossResult SegmentationLoss::operator()(const model::ScaleOutputs& outputs, const at::Tensor& labels,
                                        int64_t step) const {
  ATROUS_ASSERT(!outputs.empty(), "no logits to compute a loss of");
  const size_t entries = outputs.size();
  std::vector<PixelLosses> pixels;
  for (const auto& output : outputs)
    pixels.push_back(weighted_pixel_losses(output.logits, labels, class_weights_, ignore_label_,
                                           size_matching(options_.upsample_logits, output.align_corners)));

  // Pixel and valid counts, of this rank or of the global batch.
  std::vector<double> counts;
  for (const auto& p : pixels) counts.insert(counts.end(), {double(p.values.numel()), double(p.valid)});
  if (global_) {
    at::Tensor summed = summed_over_ranks(counts, comm_);
    counts.assign(summed.data_ptr<double>(), summed.data_ptr<double>() + summed.numel());
  }

  const Selection selection = select_pixels(pixels, counts, step);
  const std::vector<at::Tensor>& kept = selection.kept;
  const std::vector<double>& divisors = selection.divisors;
  const bool mining = options_.top_k_percent_pixels < 1.0;

  // This rank's kept sums; the loss values; the tensor to differentiate.
  LossResult result;
  std::vector<double> sums(entries);
  std::vector<at::Tensor> kept_sums(entries);
  for (size_t e = 0; e < entries; ++e) {
    kept_sums[e] = mining ? (pixels[e].values * kept[e]).sum() : pixels[e].values.sum();
    sums[e] = kept_sums[e].item<double>();
  }
  if (global_) {
    at::Tensor summed = summed_over_ranks(sums, comm_);
    sums.assign(summed.data_ptr<double>(), summed.data_ptr<double>() + summed.numel());
  }
  const double scale = global_ ? comm_.size() : 1.0;
  for (size_t e = 0; e < entries; ++e) {
    const double weight = outputs[e].loss_weight;
    const double value = divide_maybe_zero(sums[e], divisors[e]);
    result.entries.push_back({outputs[e].name, value});
    result.total += weight * value;
    at::Tensor term = divisors[e] > 0 ? kept_sums[e] * (weight * scale / divisors[e]) : kept_sums[e] * 0.0;
    result.backward = result.backward.defined() ? result.backward + term : term;
  }
  return result;
}

}  // namespace atrous::loss
