#include "atrous/model/multi_scale.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <sstream>

#include "atrous/core/error.h"

namespace atrous::model {

const ChoiceValues<MergeMethod>& merge_method_choices() {
  static const ChoiceValues<MergeMethod> choices{{"max", MergeMethod::max}, {"mean", MergeMethod::mean}};
  return choices;
}

int64_t scale_dimension(int64_t dimension, double scale) {
  return static_cast<int64_t>(static_cast<double>(dimension - 1) * scale + 1.0);
}

at::Tensor resize_bilinear_aligned(const at::Tensor& input, int64_t height, int64_t width) {
  if (input.size(2) == height && input.size(3) == width) return input;
  return at::upsample_bilinear2d(input, {height, width}, /*align_corners=*/true);
}

std::string scale_name(double scale) {
  std::ostringstream name;
  name << "scale_" << scale;
  return name.str();
}

ScaleOutputs multi_scale_logits(const at::Tensor& images, const std::vector<double>& pyramid,
                                int64_t logits_stride, MergeMethod merge,
                                const std::function<at::Tensor(const at::Tensor&)>& network) {
  ATROUS_ASSERT(images.dim() == 4 && !pyramid.empty() && logits_stride >= 1, "images ", images.sizes(), ", ",
                pyramid.size(), " scales, logits stride ", logits_stride);
  const int64_t height = images.size(2), width = images.size(3);
  const double largest = std::max(1.0, *std::max_element(pyramid.begin(), pyramid.end()));
  const int64_t logits_height = scale_dimension(height, largest / static_cast<double>(logits_stride));
  const int64_t logits_width = scale_dimension(width, largest / static_cast<double>(logits_stride));

  ScaleOutputs outputs;
  for (double scale : pyramid) {
    const at::Tensor input = scale == 1.0 ? images
                                          : resize_bilinear_aligned(images, scale_dimension(height, scale),
                                                                    scale_dimension(width, scale));
    outputs.push_back(
        {scale_name(scale), resize_bilinear_aligned(network(input), logits_height, logits_width)});
  }
  if (outputs.size() == 1) {
    outputs[0].name = "merged";
    return outputs;
  }
  std::vector<at::Tensor> all;
  for (const auto& output : outputs) all.push_back(output.logits);
  const at::Tensor stacked = at::stack(all, 0);
  outputs.push_back({"merged", merge == MergeMethod::max ? std::get<0>(stacked.max(0)) : stacked.mean(0)});
  return outputs;
}

}  // namespace atrous::model
