#pragma once
// SeparableConv: a depthwise 3x3 convolution and a pointwise 1x1 one, each followed by batch norm,
// as TF DeepLab's split separable convolutions (ASPP and decoder with the separable options, and
// every convolution of Xception's modules).
//
//   relu_inside = true:   depthwise -> BN -> ReLU -> pointwise -> BN -> ReLU   (ASPP, decoder,
//                         Xception's last exit block)
//   relu_inside = false:  depthwise -> BN -> pointwise -> BN; the caller applies ReLU before
//                         (Xception's pre-activation modules)

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "atrous/model/batch_norm.h"
#include "atrous/model/conv2d.h"

namespace atrous::model {

struct SeparableConvSpec {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t stride = 1;
  int64_t dilation = 1;
  bool relu_inside = true;
  double bn_momentum = 0.1;
};

class SeparableConvImpl : public torch::nn::Module {
 public:
  explicit SeparableConvImpl(const SeparableConvSpec& spec);
  at::Tensor forward(const at::Tensor& input);

 private:
  bool relu_inside_;
  Conv2d depthwise_{nullptr}, pointwise_{nullptr};
  BatchNorm2d depthwise_bn_{nullptr}, pointwise_bn_{nullptr};
};

TORCH_MODULE(SeparableConv);

}  // namespace atrous::model
