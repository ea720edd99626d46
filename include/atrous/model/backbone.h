#pragma once
// Backbone: the feature extractor under a DeepLab head.
//
// Every backbone maps normalised images [N, 3, H, W] to
//   out        the deepest features, at the configured output stride (8, 16 or 32)
//   low_level  features at stride 4, for the DeepLabV3+ decoder
//   aux        intermediate features for torchvision's auxiliary head (ResNet: layer3; others:
//              undefined)
// Parameter names follow torchvision where torchvision has the network (resnet50, resnet101,
// mobilenet_v2), so its ImageNet state dicts load into the backbone (model/weight_import.h).
// Which backbones exist, and what each supports, is model/backbone_registry.h.
//
// To add a backbone: a header and source in model/ with an XImpl deriving from BackboneImpl, and
// one entry in backbone_registry() (model/backbone_registry.h). Nothing else names backbones.

#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

#include "atrous/core/options.h"

namespace atrous::model {

// ResNet's stem (model.resnet_stem): torchvision's 7x7 conv, or TF DeepLab's resnet_v1_beta three
// 3x3 convs. Other backbones ignore it.
enum class ResNetStem { torchvision, beta };

// The names of model.resnet_stem: torchvision, beta.
const ChoiceValues<ResNetStem>& resnet_stem_choices();

struct BackboneFeatures {
  at::Tensor out;
  at::Tensor low_level;
  at::Tensor aux;
};

struct BackboneChannels {
  int64_t out = 0;
  int64_t low_level = 0;
  int64_t aux = 0;  // 0 when the backbone has no auxiliary features
};

// What a backbone is built with; which backbone is the registry's choice (model.backbone).
struct BackboneSpec {
  int64_t output_stride = 16;       // 8, 16 or 32
  std::vector<int64_t> multi_grid;  // dilation multipliers of the last block's units; empty: none
  ResNetStem resnet_stem = ResNetStem::torchvision;  // ResNets only
  double bn_momentum = 0.1;
};

class BackboneImpl : public torch::nn::Module {
 public:
  explicit BackboneImpl(std::string name) : torch::nn::Module(std::move(name)) {}
  virtual BackboneFeatures forward(const at::Tensor& images) = 0;
  virtual BackboneChannels channels() const = 0;
};

}  // namespace atrous::model
