#pragma once
// Predictor: TF DeepLab's inference, single- or multi-scale with left-right flips.
//
// For every scale s of eval.scales the image is resized bilinearly (align_corners) to
// scale_dimension(H, s) x scale_dimension(W, s), the network's logits are resized back to H x W
// (bilinear, align_corners) and turned into softmax probabilities; with eval.flip the mirrored image
// is processed too and its probabilities mirrored back. The probabilities are averaged over every
// scale and flip; the prediction is their argmax. Evaluation mode, no gradients.

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "atrous/model/deeplab.h"

namespace atrous {
class OptionTable;
}

namespace atrous::eval {

struct PredictOptions {
  std::string scales = "1";  // eval.scales, e.g. 0.5,0.75,1,1.25,1.5,1.75
  bool flip = false;         // eval.flip
  int output_stride = 0;     // eval.output_stride: 0 = the model's

  static void declare(OptionTable& table, PredictOptions& options);
};

std::vector<double> parse_scales(const std::string& text);

class Predictor {
 public:
  Predictor(model::DeepLab net, const PredictOptions& options);
  // images: [N, 3, H, W] float RGB 0..255 -> averaged probabilities [N, C, H, W].
  at::Tensor probabilities(const at::Tensor& images);
  // The argmax of probabilities: [N, H, W] int64.
  at::Tensor predict(const at::Tensor& images);

 private:
  at::Tensor scale_probabilities(const at::Tensor& normalised, double scale);

  model::DeepLab net_;
  std::vector<double> scales_;
  bool flip_;
};

}  // namespace atrous::eval
