#pragma once
// ScaleOutputs: what a DeepLab forward over an image pyramid returns, and what the loss consumes.
//
// One entry per pyramid scale ("scale_0.5", "scale_1", ...) plus "merged", the elementwise max (or
// mean) of the scales' logits resized to a common size; a single-scale pyramid yields "merged"
// alone. Every tensor is [batch, classes, height, width]. Entries keep the pyramid's order, merged
// last. An auxiliary head's "aux" entry, if any, comes after merged with its own loss weight.

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace atrous::model {

struct ScaleOutput {
  std::string name;
  at::Tensor logits;
  double loss_weight = 1.0;  // this entry's weight in the summed loss
  // How these logits are upsampled to the labels or the image (model.logits_upsampling): bilinear
  // with align_corners=True (TF DeepLab), else with half-pixel centres (torchvision).
  bool align_corners = true;
};

using ScaleOutputs = std::vector<ScaleOutput>;

}  // namespace atrous::model
