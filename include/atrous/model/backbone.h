#pragma once
// Backbone: the feature extractor under a DeepLab head, and the factory that builds one by name.
//
// Every backbone maps normalised images [N, 3, H, W] to
//   out        the deepest features, at the configured output stride (8, 16 or 32)
//   low_level  features at stride 4, for the DeepLabV3+ decoder
//   aux        intermediate features for torchvision's auxiliary head (ResNet: layer3; others:
//              undefined)
// Parameter names follow torchvision where torchvision has the network (resnet50, resnet101,
// mobilenet_v2), so its ImageNet state dicts load into the backbone (model/weight_import.h).
//
// To add a backbone: a header and source in model/ with an XImpl deriving from BackboneImpl, one
// line in make_backbone() and in the allowed list of model.backbone (model/model_options.h).

#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

namespace atrous::model {

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

struct BackboneSpec {
  std::string name;                         // resnet50, resnet101, mobilenet_v2, xception65
  int64_t output_stride = 16;               // 8, 16 or 32
  std::vector<int64_t> multi_grid;          // dilation multipliers of the last block's units; empty: none
  std::string resnet_stem = "torchvision";  // torchvision (7x7 conv) or beta (three 3x3 convs)
  double bn_momentum = 0.1;
};

class BackboneImpl : public torch::nn::Module {
 public:
  explicit BackboneImpl(std::string name) : torch::nn::Module(std::move(name)) {}
  virtual BackboneFeatures forward(const at::Tensor& images) = 0;
  virtual BackboneChannels channels() const = 0;
};

// The backbone `spec.name`; an InternalError for a name model options did not check.
std::shared_ptr<BackboneImpl> make_backbone(const BackboneSpec& spec);

// The backbone names make_backbone() knows.
const std::vector<std::string>& backbone_names();

}  // namespace atrous::model
