#pragma once
// Xception-65, TF DeepLab's "aligned" Xception: an entry flow of two 3x3 convs and three modules
// (128, 256, 728 channels, each of stride 2), a middle flow of 16 residual modules of 728 channels,
// and an exit flow of a 728/1024/1024 module of stride 2 and a 1536/1536/2048 one. Every module is
// three separable convs (model/separable_conv.h); the shortcut is a strided 1x1 conv + BN ("conv"),
// the identity ("sum") or absent ("none", the last module, whose separable convs carry their own
// ReLUs). The others are pre-activation: ReLU before each separable conv.
//
// Atrous: each module is one unit of model/atrous_schedule.h (its stride sits on its last
// separable conv and on the shortcut); multi_grid multiplies the dilations of the last module's
// three convs. There are no torchvision weights for it; names are ours (entry_block1.separable_0...).
//
// Features: low_level = the second separable conv of entry_block2 (256 channels, stride 4, TF's
// decoder end point), out = exit_block2 (2048), no aux.

#include "atrous/model/atrous_schedule.h"
#include "atrous/model/backbone.h"
#include "atrous/model/batch_norm.h"
#include "atrous/model/conv2d.h"
#include "atrous/model/separable_conv.h"

namespace atrous::model {

enum class XceptionShortcut { conv, sum, none };

class XceptionModuleImpl : public torch::nn::Module {
 public:
  // dilations: one per separable conv; stride: that of the last one and of the shortcut conv.
  XceptionModuleImpl(int64_t in_channels, const std::vector<int64_t>& depths, int64_t stride,
                     const std::vector<int64_t>& dilations, XceptionShortcut shortcut, double bn_momentum);
  // second_conv_output, when given, receives the output of the second separable conv.
  at::Tensor forward(const at::Tensor& input, at::Tensor* second_conv_output = nullptr);

 private:
  XceptionShortcut shortcut_kind_;
  std::vector<SeparableConv> convs_;
  Conv2d shortcut_{nullptr};
  BatchNorm2d shortcut_bn_{nullptr};
};

TORCH_MODULE(XceptionModule);

class Xception65Impl : public BackboneImpl {
 public:
  explicit Xception65Impl(const BackboneSpec& spec);
  BackboneFeatures forward(const at::Tensor& images) override;
  BackboneChannels channels() const override { return {2048, 256, 0}; }

 private:
  Conv2d conv1_1_{nullptr}, conv1_2_{nullptr};
  BatchNorm2d bn1_1_{nullptr}, bn1_2_{nullptr};
  std::vector<XceptionModule> modules_;  // entry 3, middle 16, exit 2
};

}  // namespace atrous::model
