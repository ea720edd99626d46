#include "atrous/model/xception65.h"

#include <ATen/ATen.h>

#include "atrous/core/error.h"

namespace atrous::model {

XceptionModuleImpl::XceptionModuleImpl(int64_t in_channels, const std::vector<int64_t>& depths,
                                       int64_t stride, const std::vector<int64_t>& dilations,
                                       XceptionShortcut shortcut, double bn_momentum)
    : torch::nn::Module("XceptionModule"), shortcut_kind_(shortcut) {
  ATROUS_ASSERT(depths.size() == 3 && dilations.size() == 3, "an Xception module has three convs");
  int64_t channels = in_channels;
  for (size_t i = 0; i < 3; ++i) {
    const SeparableConvSpec spec{channels,
                                 depths[i],
                                 i == 2 ? stride : 1,
                                 dilations[i],
                                 /*relu_inside=*/shortcut == XceptionShortcut::none,
                                 bn_momentum};
    convs_.push_back(register_module("separable_" + std::to_string(i), SeparableConv(spec)));
    channels = depths[i];
  }
  if (shortcut == XceptionShortcut::conv) {
    shortcut_ = register_module("shortcut", Conv2d(Conv2dSpec{in_channels, depths[2], 1, stride}));
    shortcut_bn_ = register_module("shortcut_bn", BatchNorm2d(depths[2], 1e-5, bn_momentum));
  }
  ATROUS_ASSERT(shortcut != XceptionShortcut::sum || (stride == 1 && in_channels == depths[2]),
                "an identity shortcut needs stride 1 and equal channels");
}

at::Tensor XceptionModuleImpl::forward(const at::Tensor& input, at::Tensor* second_conv_output) {
  const bool pre_activation = shortcut_kind_ != XceptionShortcut::none;
  at::Tensor x = input;
  for (size_t i = 0; i < convs_.size(); ++i) {
    x = convs_[i]->forward(pre_activation ? at::relu(x) : x);
    if (i == 1 && second_conv_output != nullptr) *second_conv_output = x;
  }
  switch (shortcut_kind_) {
    case XceptionShortcut::conv:
      return x + shortcut_bn_->forward(shortcut_->forward(input));
    case XceptionShortcut::sum:
      return x + input;
    case XceptionShortcut::none:
      break;
  }
  return x;
}

Xception65Impl::Xception65Impl(const BackboneSpec& spec) : BackboneImpl("Xception65") {
  ATROUS_ASSERT(spec.multi_grid.empty() || spec.multi_grid.size() == 3, "multi_grid needs 3 rates");
  const double momentum = spec.bn_momentum;
  AtrousSchedule schedule(spec.output_stride);
  conv1_1_ = register_module("conv1_1", Conv2d(Conv2dSpec{3, 32, 3, schedule.next(2).stride}));
  bn1_1_ = register_module("bn1_1", BatchNorm2d(32, 1e-5, momentum));
  conv1_2_ = register_module("conv1_2", Conv2d(Conv2dSpec{32, 64, 3}));
  bn1_2_ = register_module("bn1_2", BatchNorm2d(64, 1e-5, momentum));

  int64_t channels = 64;
  auto add = [&](const std::string& name, const std::vector<int64_t>& depths, int64_t stride,
                 XceptionShortcut shortcut, const std::vector<int64_t>& unit_rates) {
    const UnitGeometry geometry = schedule.next(stride);
    std::vector<int64_t> dilations;
    for (int64_t rate : unit_rates) dilations.push_back(geometry.dilation * rate);
    modules_.push_back(register_module(
        name, XceptionModule(channels, depths, geometry.stride, dilations, shortcut, momentum)));
    channels = depths.back();
  };
  const std::vector<int64_t> ones{1, 1, 1};
  add("entry_block1", {128, 128, 128}, 2, XceptionShortcut::conv, ones);
  add("entry_block2", {256, 256, 256}, 2, XceptionShortcut::conv, ones);
  add("entry_block3", {728, 728, 728}, 2, XceptionShortcut::conv, ones);
  for (int i = 1; i <= 16; ++i)
    add("middle_block" + std::to_string(i), {728, 728, 728}, 1, XceptionShortcut::sum, ones);
  add("exit_block1", {728, 1024, 1024}, 2, XceptionShortcut::conv, ones);
  add("exit_block2", {1536, 1536, 2048}, 1, XceptionShortcut::none,
      spec.multi_grid.empty() ? ones : spec.multi_grid);
}

BackboneFeatures Xception65Impl::forward(const at::Tensor& images) {
  at::Tensor x = at::relu(bn1_1_->forward(conv1_1_->forward(images)));
  x = at::relu(bn1_2_->forward(conv1_2_->forward(x)));
  BackboneFeatures features;
  x = modules_[0]->forward(x);
  x = modules_[1]->forward(x, &features.low_level);
  for (size_t i = 2; i < modules_.size(); ++i) x = modules_[i]->forward(x);
  features.out = x;
  return features;
}

}  // namespace atrous::model
