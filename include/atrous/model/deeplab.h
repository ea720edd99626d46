#pragma once
// DeepLab: a backbone (model/backbone.h), a head, and multi-scale logits (model/multi_scale.h).
//
// Input: RGB images [N, 3, H, W], float, values 0..255. The model normalises them itself
// (model.normalization: imagenet = torchvision's mean/std, deeplab = x / 127.5 - 1), so the choice
// travels with the model's options and its checkpoints.
//
// Heads (model.head):
//   deeplabv3plus  TF DeepLab: aspp (model/aspp.h), decoder (model/decoder.h) unless
//                  model.decoder_output_stride = 0, and `logits`, a 1x1 conv with bias, weights
//                  N(0, 0.01). Logits stride: 4 with the decoder, else the output stride.
//   deeplabv3      torchvision's form and names: classifier.0 = ASPP, classifier.1/2 = 3x3 conv 256 +
//                  BN, classifier.4 = 1x1 conv with bias; with model.aux_head, aux_classifier on the
//                  backbone's aux features (FCN head: 3x3 conv, BN, ReLU, dropout 0.1, 1x1 conv).
//                  torchvision's deeplabv3_resnet50/101 state dicts load into it.
//
// forward() returns model/scale_outputs.h entries: one per pyramid scale and "merged" (or "merged"
// alone). In training mode with an aux head, an "aux" entry (weight model.aux_loss_weight) follows,
// from the scale-1 pass (the first scale when the pyramid has no 1).
//
// Logits come at logits_stride(); whoever needs them at the image or label size (the loss, the
// predictor, `atrous infer`) resizes them with upsample_logits(), or, for the loss, by each
// ScaleOutput's align_corners flag, which holds the same convention (model.logits_upsampling:
// align_corners for deeplabv3plus, half-pixel centres as torchvision's F.interpolate for deeplabv3).

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "atrous/model/aspp.h"
#include "atrous/model/backbone.h"
#include "atrous/model/conv2d.h"
#include "atrous/model/decoder.h"
#include "atrous/model/layer_sequence.h"
#include "atrous/model/model_options.h"
#include "atrous/model/multi_scale.h"
#include "atrous/model/scale_outputs.h"

namespace atrous::model {

class DeepLabImpl : public torch::nn::Module {
 public:
  // Validates `options` (OptionError naming the option: an unregistered backbone, out-of-range
  // numbers, an aux head without deeplabv3 or a backbone with aux features); num_classes >= 1.
  DeepLabImpl(const ModelOptions& options, int64_t num_classes);

  ScaleOutputs forward(const at::Tensor& images);
  // The network at one scale: normalised images -> logits at logits_stride(). `aux`, when given and
  // the model has an aux head, receives the aux logits.
  at::Tensor logits_at_one_scale(const at::Tensor& normalised, at::Tensor* aux = nullptr);
  at::Tensor normalise(const at::Tensor& images) const;

  BackboneImpl& backbone() { return *backbone_; }
  int64_t logits_stride() const { return logits_stride_; }
  int64_t num_classes() const { return num_classes_; }
  const ModelOptions& options() const { return options_; }
  // model.logits_upsampling resolved for this head: true = align_corners (TF), false = half-pixel.
  bool upsampling_aligns_corners() const { return align_corners_; }
  // Logits [N, C, h, w] bilinearly resized to height x width by the model's convention.
  at::Tensor upsample_logits(const at::Tensor& logits, int64_t height, int64_t width) const;
  // Prefixes of the final classifier(s)' parameters, which model.skip_logits leaves untouched.
  std::vector<std::string> logits_prefixes() const;

 private:
  void build_deeplabv3plus(const std::vector<int64_t>& rates);
  void build_deeplabv3(const std::vector<int64_t>& rates);

  ModelOptions options_;
  int64_t num_classes_;
  int64_t logits_stride_;
  bool align_corners_ = true;
  std::vector<double> pyramid_;
  std::shared_ptr<BackboneImpl> backbone_;
  // deeplabv3plus
  Aspp aspp_{nullptr};
  Decoder decoder_{nullptr};
  Conv2d logits_{nullptr};
  // deeplabv3
  LayerSequence classifier_{nullptr}, aux_classifier_{nullptr};
};

TORCH_MODULE(DeepLab);

// The class count of a DeepLab state dict (a checkpoint's model, or a torchvision deeplabv3 dict):
// the length of its logits bias, logits.bias (deeplabv3plus) or classifier.4.bias (deeplabv3). A
// UserError naming `source` when it has neither.
int64_t num_classes_in_state_dict(const std::map<std::string, at::Tensor>& state_dict,
                                  const std::string& source);

}  // namespace atrous::model
