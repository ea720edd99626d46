#pragma once
// Multi-scale logits, exactly TF DeepLab's (docs/tf-deeplab-reference.md):
//   scale_dimension(d, s) = int((d - 1) * s + 1)
//   every pyramid scale s != 1 resizes the input bilinearly (align_corners=True) to
//   scale_dimension(H, s) x scale_dimension(W, s) and runs the network on it;
//   every scale's logits are resized bilinearly (align_corners=True) to the common size
//   scale_dimension(H, max(1, max(pyramid)) / logits_stride) (and W alike);
//   merged = their elementwise max (or mean).
// The outputs are named "scale_<s>" in pyramid order, then "merged"; a one-scale pyramid yields
// "merged" alone.

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "atrous/core/options.h"
#include "atrous/model/scale_outputs.h"

namespace atrous::model {

// How the scales' logits are merged (model.merge_method).
enum class MergeMethod { max, mean };

// The names of model.merge_method: max, mean.
const ChoiceValues<MergeMethod>& merge_method_choices();

int64_t scale_dimension(int64_t dimension, double scale);

// Bilinear resize with align_corners=True, TF's resize_bilinear(align_corners=True); a no-op when the
// size already matches.
at::Tensor resize_bilinear_aligned(const at::Tensor& input, int64_t height, int64_t width);

// "scale_0.5", "scale_1", "scale_1.25"
std::string scale_name(double scale);

// Runs `network` (normalised images -> logits at logits_stride) over the pyramid of `images`.
ScaleOutputs multi_scale_logits(const at::Tensor& images, const std::vector<double>& pyramid,
                                int64_t logits_stride, MergeMethod merge,
                                const std::function<at::Tensor(const at::Tensor&)>& network);

}  // namespace atrous::model
