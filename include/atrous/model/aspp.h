#pragma once
// ASPP, atrous spatial pyramid pooling, in torchvision's layout and names (which DeepLab's TF form
// maps onto one to one):
//   convs.0        1x1 conv 256, BN, ReLU
//   convs.1..R     one 3x3 conv 256 per atrous rate (dilation = rate), BN, ReLU; with `separable`,
//                  a model/separable_conv.h conv instead (TF's aspp_with_separable_conv)
//   convs.R+1      image pooling: global average pool, 1x1 conv 256, BN, ReLU, broadcast back
//   project        concat -> 1x1 conv 256, BN, ReLU, dropout
// torchvision's deeplabv3 uses rates 12/24/36 and dropout 0.5; TF DeepLab 6/12/18 at output
// stride 16 and dropout 0.1. No rates at all is allowed (TF's MobileNetV2 default: 1x1 + pooling).
// The pooled branch is constant over the image, so broadcasting it equals any bilinear resize.

#include "atrous/model/layer_sequence.h"

namespace atrous::model {

struct AsppSpec {
  int64_t in_channels = 0;
  int64_t channels = 256;
  std::vector<int64_t> rates;
  bool separable = false;
  double dropout = 0.1;
  double bn_momentum = 0.1;
};

class AsppImpl : public torch::nn::Module {
 public:
  explicit AsppImpl(const AsppSpec& spec);
  at::Tensor forward(const at::Tensor& features);

 private:
  std::vector<LayerSequence> convs_;  // registered as convs.0 .. convs.R+1
  LayerSequence project_{nullptr};
};

TORCH_MODULE(Aspp);

}  // namespace atrous::model
