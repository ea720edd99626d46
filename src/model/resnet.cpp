#include "atrous/model/resnet.h"

#include <ATen/ATen.h>

#include "atrous/core/error.h"

namespace atrous::model {

BottleneckImpl::BottleneckImpl(int64_t in_channels, int64_t planes, int64_t stride, int64_t dilation,
                               bool downsample, double bn_momentum)
    : torch::nn::Module("Bottleneck") {
  const int64_t out_channels = planes * expansion;
  conv1_ = register_module("conv1", Conv2d(Conv2dSpec{in_channels, planes, 1}));
  bn1_ = register_module("bn1", BatchNorm2d(planes, 1e-5, bn_momentum));
  conv2_ = register_module("conv2", Conv2d(Conv2dSpec{planes, planes, 3, stride, dilation}));
  bn2_ = register_module("bn2", BatchNorm2d(planes, 1e-5, bn_momentum));
  conv3_ = register_module("conv3", Conv2d(Conv2dSpec{planes, out_channels, 1}));
  bn3_ = register_module("bn3", BatchNorm2d(out_channels, 1e-5, bn_momentum));
  if (downsample) {
    downsample_ = register_module("downsample", LayerSequence());
    downsample_->add(Conv2d(Conv2dSpec{in_channels, out_channels, 1, stride}));
    downsample_->add(BatchNorm2d(out_channels, 1e-5, bn_momentum));
  }
}

at::Tensor BottleneckImpl::forward(const at::Tensor& input) {
  // In-place ReLUs, as torchvision's: batch norm and sum outputs that nothing else holds.
  at::Tensor x = bn1_->forward(conv1_->forward(input)).relu_();
  x = bn2_->forward(conv2_->forward(x)).relu_();
  x = bn3_->forward(conv3_->forward(x));
  const at::Tensor shortcut = downsample_ ? downsample_->forward(input) : input;
  return at::relu_(x += shortcut);
}

ResNetImpl::ResNetImpl(const BackboneSpec& spec, int depth)
    : BackboneImpl("ResNet" + std::to_string(depth)), beta_stem_(spec.resnet_stem == ResNetStem::beta) {
  ATROUS_ASSERT(depth == 50 || depth == 101, "no ResNet of depth ", depth);
  AtrousSchedule schedule(spec.output_stride);
  const double momentum = spec.bn_momentum;
  if (beta_stem_) {
    const int64_t widths[] = {3, 64, 64, 128};
    for (int i = 0; i < 3; ++i) {
      const std::string suffix = std::to_string(i + 1);
      stem_layers_.emplace_back(
          register_module("conv1_" + suffix, Conv2d(Conv2dSpec{widths[i], widths[i + 1], 3, i == 0 ? 2 : 1})),
          register_module("bn1_" + suffix, BatchNorm2d(widths[i + 1], 1e-5, momentum)));
    }
  } else {
    stem_layers_.emplace_back(register_module("conv1", Conv2d(Conv2dSpec{3, 64, 7, 2})),
                              register_module("bn1", BatchNorm2d(64, 1e-5, momentum)));
  }
  schedule.next(2);  // the stem's conv
  schedule.next(2);  // its max pool
  int64_t in_channels = beta_stem_ ? 128 : 64;
  const int64_t blocks3 = depth == 50 ? 6 : 23;
  layer1_ = register_module("layer1", make_layer(schedule, in_channels, 64, 3, 1, {}, momentum));
  layer2_ = register_module("layer2", make_layer(schedule, in_channels, 128, 4, 2, {}, momentum));
  layer3_ = register_module("layer3", make_layer(schedule, in_channels, 256, blocks3, 2, {}, momentum));
  layer4_ =
      register_module("layer4", make_layer(schedule, in_channels, 512, 3, 2, spec.multi_grid, momentum));
}

LayerSequence ResNetImpl::make_layer(AtrousSchedule& schedule, int64_t& in_channels, int64_t planes,
                                     int64_t blocks, int64_t stride, const std::vector<int64_t>& multi_grid,
                                     double bn_momentum) {
  ATROUS_ASSERT(multi_grid.empty() || static_cast<int64_t>(multi_grid.size()) == blocks, "multi_grid of ",
                multi_grid.size(), " rates for ", blocks, " blocks");
  LayerSequence layer;
  for (int64_t block = 0; block < blocks; ++block) {
    UnitGeometry geometry = block == 0 ? schedule.next(stride) : schedule.current();
    // TF DeepLab's multi_grid: the unit rates scale the block's rate (the dilation the block runs at).
    if (!multi_grid.empty()) geometry.dilation = schedule.current().dilation * multi_grid[block];
    layer->add(Bottleneck(in_channels, planes, geometry.stride, geometry.dilation, block == 0, bn_momentum));
    in_channels = planes * BottleneckImpl::expansion;
  }
  return layer;
}

at::Tensor ResNetImpl::stem(const at::Tensor& images) {
  at::Tensor x = images;
  for (auto& [conv, bn] : stem_layers_) x = bn->forward(conv->forward(x)).relu_();
  return at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
}

BackboneFeatures ResNetImpl::forward(const at::Tensor& images) {
  BackboneFeatures features;
  features.low_level = layer1_->forward(stem(images));
  features.aux = layer3_->forward(layer2_->forward(features.low_level));
  features.out = layer4_->forward(features.aux);
  return features;
}

}  // namespace atrous::model
