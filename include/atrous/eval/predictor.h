#pragma once
// Predictor: TF DeepLab's inference, single- or multi-scale with left-right flips.
//
// For every scale s of eval.scales the image is resized bilinearly (align_corners, TF's resize) to
// scale_dimension(H, s) x scale_dimension(W, s), the network's logits are upsampled back to H x W by
// the model's convention (DeepLabImpl::upsample_logits: model.logits_upsampling) and turned into
// softmax probabilities; with eval.flip the mirrored image is processed too and its probabilities
// mirrored back. The probabilities are averaged over every scale and flip; the prediction is their
// argmax. Evaluation mode, no gradients. The network runs under eval.precision's autocast; its
// logits are float32 before the softmax.
// PredictOptions::validate() and the option table reject bad values with an OptionError naming
// eval.scales or eval.output_stride.

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "atrous/core/options.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/precision.h"

namespace atrous::eval {

struct PredictOptions {
  std::string scales = "1";  // eval.scales, e.g. 0.5,0.75,1,1.25,1.5,1.75
  bool flip = false;         // eval.flip
  int output_stride = 0;     // eval.output_stride: 0 = the model's, or 8, 16, 32 (eval/predictor_loader.h)
  model::Precision precision = model::Precision::fp32;  // eval.precision (model/precision.h)

  static void declare(OptionTable& table, PredictOptions& options);
  void validate() const;
};

// The values of eval.output_stride: 0, 8, 16, 32.
const ChoiceValues<int>& output_stride_choices();

std::vector<double> parse_scales(const std::string& text);

class Predictor {
 public:
  // net: on the device the images will be on. An OptionError when options.precision cannot run there.
  Predictor(model::DeepLab net, const PredictOptions& options);
  // images: [N, 3, H, W] float RGB 0..255 -> averaged probabilities [N, C, H, W].
  at::Tensor probabilities(const at::Tensor& images);
  // The averaged probabilities upsampled to height x width by the model's logits convention (a
  // prediction written at an image's original size).
  at::Tensor probabilities(const at::Tensor& images, int64_t height, int64_t width);
  // The argmax of probabilities: [N, H, W] int64.
  at::Tensor predict(const at::Tensor& images);
  // The raw logits of one pass at scale 1, no flip, upsampled to height x width by the model's
  // convention: [N, C, height, width].
  at::Tensor logits(const at::Tensor& images, int64_t height, int64_t width);

  int64_t num_classes() const { return net_->num_classes(); }
  // The network (shared, not copied).
  model::DeepLab net() const { return net_; }

 private:
  at::Tensor scale_probabilities(const at::Tensor& normalised, double scale);
  // The network's logits at the input's size / output stride, float32, under precision_'s autocast.
  at::Tensor network_logits(const at::Tensor& input);
  c10::Device device() const;

  model::DeepLab net_;
  std::vector<double> scales_;
  bool flip_;
  model::Precision precision_;
};

}  // namespace atrous::eval
