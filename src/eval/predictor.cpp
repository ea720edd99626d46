#include "atrous/eval/predictor.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "atrous/model/multi_scale.h"

namespace atrous::eval {

const ChoiceValues<int>& output_stride_choices() {
  static const ChoiceValues<int> choices{{"0", 0}, {"8", 8}, {"16", 16}, {"32", 32}};
  return choices;
}

void PredictOptions::declare(OptionTable& table, PredictOptions& options) {
  table.add("eval.scales", &options.scales, std::string("1"),
            "inference scales; probabilities are averaged over them (e.g. 0.5,0.75,1,1.25,1.5,1.75)",
            "comma-separated numbers in (0, 8]");
  table.add("eval.flip", &options.flip, false, "also average over the left-right flipped image",
            "true or false");
  table.add_choice("eval.output_stride", &options.output_stride, 0,
                   "the output stride to evaluate at (e.g. train at 16, evaluate at 8); 0: the model's",
                   output_stride_choices());
  table.add_choice(
      "eval.precision", &options.precision, model::Precision::fp32,
      "the dtype of the network's convolutions and matrix products (autocast): bf16 on CPUs with "
      "AVX512_BF16 and GPUs, fp16 on GPUs; the softmax and argmax stay float32",
      model::precision_choices());
}

void PredictOptions::validate() const {
  parse_scales(scales);
  const auto& strides = output_stride_choices();
  ATROUS_CHECK_OPTION(std::any_of(strides.begin(), strides.end(),
                                  [&](const auto& choice) { return choice.second == output_stride; }),
                      "eval.output_stride", output_stride, choice_list_text(choice_names(strides)));
}

std::vector<double> parse_scales(const std::string& text) {
  return parse_positive_numbers("eval.scales", text, "comma-separated numbers in (0, 8]", 8.0);
}

Predictor::Predictor(model::DeepLab net, const PredictOptions& options)
    : net_(std::move(net)),
      scales_(parse_scales(options.scales)),
      flip_(options.flip),
      precision_(options.precision) {
  model::check_precision_supported(precision_, device(), "eval.precision");
}

c10::Device Predictor::device() const {
  return net_->parameters().front().device();
}

at::Tensor Predictor::network_logits(const at::Tensor& input) {
  at::Tensor logits;
  {
    const model::AutocastScope autocast(precision_, input.device());
    logits = net_->logits_at_one_scale(input);
  }
  return logits.to(at::kFloat);
}

at::Tensor Predictor::scale_probabilities(const at::Tensor& normalised, double scale) {
  const int64_t height = normalised.size(2), width = normalised.size(3);
  const at::Tensor input = model::resize_bilinear_aligned(normalised, model::scale_dimension(height, scale),
                                                          model::scale_dimension(width, scale));
  return at::softmax(net_->upsample_logits(network_logits(input), height, width), 1);
}

at::Tensor Predictor::probabilities(const at::Tensor& images) {
  at::NoGradGuard no_grad;
  net_->eval();
  const at::Tensor normalised = net_->normalise(images);
  at::Tensor sum;
  int64_t count = 0;
  for (double scale : scales_) {
    for (bool mirrored : {false, true}) {
      if (mirrored && !flip_) continue;
      at::Tensor probabilities = mirrored ? scale_probabilities(normalised.flip({3}), scale).flip({3})
                                          : scale_probabilities(normalised, scale);
      sum = sum.defined() ? sum + probabilities : probabilities;
      ++count;
    }
  }
  return sum / double(count);
}

at::Tensor Predictor::probabilities(const at::Tensor& images, int64_t height, int64_t width) {
  return net_->upsample_logits(probabilities(images), height, width);
}

at::Tensor Predictor::predict(const at::Tensor& images) {
  return probabilities(images).argmax(1);
}

at::Tensor Predictor::logits(const at::Tensor& images, int64_t height, int64_t width) {
  at::NoGradGuard no_grad;
  net_->eval();
  return net_->upsample_logits(network_logits(net_->normalise(images)), height, width);
}

}  // namespace atrous::eval
