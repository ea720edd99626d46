#include "atrous/model/mobilenet_v2.h"

#include <ATen/ATen.h>

#include "atrous/model/atrous_schedule.h"
#include "atrous/model/batch_norm.h"
#include "atrous/model/conv2d.h"

namespace atrous::model {
namespace {

// torchvision's Conv2dNormActivation: conv (0), BN (1), ReLU6 (2).
LayerSequence conv_bn_relu6(const Conv2dSpec& spec, double bn_momentum) {
  LayerSequence sequence;
  sequence->add(Conv2d(spec));
  sequence->add(BatchNorm2d(spec.out_channels, 1e-5, bn_momentum));
  sequence->add_relu6();
  return sequence;
}

struct BlockSetting {
  int64_t expand_ratio, channels, repeats, stride;
};

// torchvision's inverted_residual_setting for width 1.0.
constexpr BlockSetting block_settings[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                           {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

constexpr size_t low_level_end = 4;  // features.0 .. features.3: stride 4, 24 channels

}  // namespace

InvertedResidualImpl::InvertedResidualImpl(int64_t in_channels, int64_t out_channels, int64_t stride,
                                           int64_t dilation, int64_t expand_ratio, double bn_momentum)
    : torch::nn::Module("InvertedResidual"), residual_(stride == 1 && in_channels == out_channels) {
  const int64_t hidden = in_channels * expand_ratio;
  conv_ = register_module("conv", LayerSequence());
  if (expand_ratio != 1) conv_->add(conv_bn_relu6(Conv2dSpec{in_channels, hidden, 1}, bn_momentum));
  conv_->add(conv_bn_relu6(Conv2dSpec{hidden, hidden, 3, stride, dilation, hidden}, bn_momentum));
  conv_->add(Conv2d(Conv2dSpec{hidden, out_channels, 1}));
  conv_->add(BatchNorm2d(out_channels, 1e-5, bn_momentum));
}

at::Tensor InvertedResidualImpl::forward(const at::Tensor& input) {
  at::Tensor x = conv_->forward(input);
  return residual_ ? input + x : x;
}

MobileNetV2Impl::MobileNetV2Impl(const BackboneSpec& spec) : BackboneImpl("MobileNetV2") {
  AtrousSchedule schedule(spec.output_stride);
  features_ = register_module("features", LayerSequence());
  features_->add(conv_bn_relu6(Conv2dSpec{3, 32, 3, schedule.next(2).stride}, spec.bn_momentum));
  int64_t in_channels = 32;
  for (const BlockSetting& setting : block_settings) {
    for (int64_t repeat = 0; repeat < setting.repeats; ++repeat) {
      const UnitGeometry geometry = schedule.next(repeat == 0 ? setting.stride : 1);
      features_->add(InvertedResidual(in_channels, setting.channels, geometry.stride, geometry.dilation,
                                      setting.expand_ratio, spec.bn_momentum));
      in_channels = setting.channels;
    }
  }
}

BackboneFeatures MobileNetV2Impl::forward(const at::Tensor& images) {
  BackboneFeatures features;
  features.low_level = features_->forward_range(images, 0, low_level_end);
  features.out = features_->forward_range(features.low_level, low_level_end, features_->size());
  return features;
}

}  // namespace atrous::model
