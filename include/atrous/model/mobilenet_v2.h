#pragma once
// MobileNetV2 (width 1.0) with torchvision's module names (features.0.0, features.1.conv.0.0, ...),
// so torchvision's ImageNet state dict loads into it.
//
// As in TF DeepLab, the backbone ends at features.17 (320 channels); torchvision's features.18
// (the 1x1 conv to 1280) and classifier are not part of it and are ignored on import. Atrous: each
// inverted residual block is one unit of model/atrous_schedule.h, whose dilation goes to its
// depthwise conv; multi_grid is not used.
//
// Features: low_level = features.3 (24 channels, stride 4), out = features.17 (320), no aux.

#include "atrous/model/backbone.h"
#include "atrous/model/layer_sequence.h"

namespace atrous::model {

class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in_channels, int64_t out_channels, int64_t stride, int64_t dilation,
                       int64_t expand_ratio, double bn_momentum);
  at::Tensor forward(const at::Tensor& input);

 private:
  bool residual_;
  LayerSequence conv_{nullptr};
};

TORCH_MODULE(InvertedResidual);

class MobileNetV2Impl : public BackboneImpl {
 public:
  explicit MobileNetV2Impl(const BackboneSpec& spec);
  BackboneFeatures forward(const at::Tensor& images) override;
  BackboneChannels channels() const override { return {320, 24, 0}; }

 private:
  LayerSequence features_{nullptr};
};

}  // namespace atrous::model
