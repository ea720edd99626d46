#include "atrous/model/separable_conv.h"

#include <ATen/ATen.h>

namespace atrous::model {

SeparableConvImpl::SeparableConvImpl(const SeparableConvSpec& spec)
    : torch::nn::Module("SeparableConv"), relu_inside_(spec.relu_inside) {
  depthwise_ =
      register_module("depthwise", Conv2d(Conv2dSpec{spec.in_channels, spec.in_channels, 3, spec.stride,
                                                     spec.dilation, spec.in_channels, false}));
  depthwise_bn_ = register_module("depthwise_bn", BatchNorm2d(spec.in_channels, 1e-5, spec.bn_momentum));
  pointwise_ = register_module("pointwise", Conv2d(Conv2dSpec{spec.in_channels, spec.out_channels, 1}));
  pointwise_bn_ = register_module("pointwise_bn", BatchNorm2d(spec.out_channels, 1e-5, spec.bn_momentum));
}

at::Tensor SeparableConvImpl::forward(const at::Tensor& input) {
  at::Tensor x = depthwise_bn_->forward(depthwise_->forward(input));
  if (relu_inside_) x = at::relu_(x);
  x = pointwise_bn_->forward(pointwise_->forward(x));
  return relu_inside_ ? at::relu_(x) : x;
}

}  // namespace atrous::model
