#pragma once
// ResNet-50/101 (torchvision's v1.5 bottlenecks: the stride in the 3x3 conv), with torchvision's
// module names (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0, ...) so its ImageNet state
// dicts and deeplabv3_resnet50/101's backbones load by name.
//
// Atrous: model/atrous_schedule.h decides stride and dilation per bottleneck; multi_grid multiplies
// the dilation of layer4's blocks (TF DeepLab's multi_grid, e.g. 1,2,4). The optional "beta" stem
// (TF DeepLab's resnet_v1_beta) replaces the 7x7 conv1 by three 3x3 convs (64, 64, 128 channels;
// names conv1_1/bn1_1 .. conv1_3/bn1_3); torchvision weights do not fit it.
//
// Depth: 50 or 101 layers (layer3 of 6 or 23 bottlenecks); the module is named ResNet50 / ResNet101.
//
// Features: low_level = layer1 (256 channels, stride 4), aux = layer3 (1024), out = layer4 (2048).

#include "atrous/model/atrous_schedule.h"
#include "atrous/model/backbone.h"
#include "atrous/model/batch_norm.h"
#include "atrous/model/conv2d.h"
#include "atrous/model/layer_sequence.h"

namespace atrous::model {

class BottleneckImpl : public torch::nn::Module {
 public:
  // stride and dilation are those of the 3x3 conv; downsample adds the 1x1 projection shortcut.
  BottleneckImpl(int64_t in_channels, int64_t planes, int64_t stride, int64_t dilation, bool downsample,
                 double bn_momentum);
  at::Tensor forward(const at::Tensor& input);

  static constexpr int64_t expansion = 4;

 private:
  Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  LayerSequence downsample_{nullptr};
};

TORCH_MODULE(Bottleneck);

class ResNetImpl : public BackboneImpl {
 public:
  // depth: 50 or 101.
  ResNetImpl(const BackboneSpec& spec, int depth);
  BackboneFeatures forward(const at::Tensor& images) override;
  BackboneChannels channels() const override { return {2048, 256, 1024}; }

 private:
  LayerSequence make_layer(AtrousSchedule& schedule, int64_t& in_channels, int64_t planes, int64_t blocks,
                           int64_t stride, const std::vector<int64_t>& multi_grid, double bn_momentum);
  at::Tensor stem(const at::Tensor& images);

  bool beta_stem_;
  std::vector<std::pair<Conv2d, BatchNorm2d>> stem_layers_;
  LayerSequence layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr}, layer4_{nullptr};
};

}  // namespace atrous::model
