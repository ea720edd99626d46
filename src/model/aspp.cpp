#include "atrous/model/aspp.h"

#include <ATen/ATen.h>

#include "atrous/model/batch_norm.h"
#include "atrous/model/conv2d.h"
#include "atrous/model/separable_conv.h"

namespace atrous::model {

AsppImpl::AsppImpl(const AsppSpec& spec) : torch::nn::Module("ASPP") {
  const int64_t out = spec.channels;
  auto conv_bn_relu = [&](const Conv2dSpec& conv) {
    LayerSequence branch;
    branch->add(Conv2d(conv));
    branch->add(BatchNorm2d(out, 1e-5, spec.bn_momentum));
    branch->add_relu();
    return branch;
  };
  convs_.push_back(conv_bn_relu(Conv2dSpec{spec.in_channels, out, 1}));
  for (int64_t rate : spec.rates) {
    if (spec.separable) {
      LayerSequence branch;
      branch->add(SeparableConv(SeparableConvSpec{spec.in_channels, out, 1, rate, true, spec.bn_momentum}));
      convs_.push_back(branch);
    } else {
      convs_.push_back(conv_bn_relu(Conv2dSpec{spec.in_channels, out, 3, 1, rate}));
    }
  }
  LayerSequence pooling;
  pooling->add_global_average_pool();
  pooling->add(Conv2d(Conv2dSpec{spec.in_channels, out, 1}));
  pooling->add(BatchNorm2d(out, 1e-5, spec.bn_momentum));
  pooling->add_relu();
  convs_.push_back(pooling);

  auto convs = register_module("convs", LayerSequence());
  for (auto& branch : convs_) convs->add(branch);  // names convs.0 .. convs.R+1; forward is ours
  project_ = register_module("project", LayerSequence());
  project_->add(Conv2d(Conv2dSpec{out * static_cast<int64_t>(convs_.size()), out, 1}));
  project_->add(BatchNorm2d(out, 1e-5, spec.bn_momentum));
  project_->add_relu();
  project_->add_dropout(spec.dropout);
}

at::Tensor AsppImpl::forward(const at::Tensor& features) {
  std::vector<at::Tensor> branches;
  for (size_t i = 0; i + 1 < convs_.size(); ++i) branches.push_back(convs_[i]->forward(features));
  branches.push_back(convs_.back()->forward(features).expand({-1, -1, features.size(2), features.size(3)}));
  return project_->forward(at::cat(branches, 1));
}

}  // namespace atrous::model
