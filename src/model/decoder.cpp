#include "atrous/model/decoder.h"

#include <ATen/ATen.h>

#include "atrous/model/batch_norm.h"
#include "atrous/model/conv2d.h"
#include "atrous/model/multi_scale.h"
#include "atrous/model/separable_conv.h"

namespace atrous::model {

DecoderImpl::DecoderImpl(const DecoderSpec& spec) : torch::nn::Module("Decoder"), channels_(spec.channels) {
  project_low_level_ = register_module("project_low_level", LayerSequence());
  project_low_level_->add(Conv2d(Conv2dSpec{spec.low_level_channels, spec.projection_channels, 1}));
  project_low_level_->add(BatchNorm2d(spec.projection_channels, 1e-5, spec.bn_momentum));
  project_low_level_->add_relu();

  fuse_ = register_module("fuse", LayerSequence());
  int64_t in = spec.encoder_channels + spec.projection_channels;
  for (int i = 0; i < 2; ++i) {
    if (spec.separable) {
      fuse_->add(SeparableConv(SeparableConvSpec{in, spec.channels, 1, 1, true, spec.bn_momentum}));
    } else {
      fuse_->add(Conv2d(Conv2dSpec{in, spec.channels, 3}));
      fuse_->add(BatchNorm2d(spec.channels, 1e-5, spec.bn_momentum));
      fuse_->add_relu();
    }
    in = spec.channels;
  }
}

at::Tensor DecoderImpl::forward(const at::Tensor& encoder, const at::Tensor& low_level) {
  const at::Tensor projected = project_low_level_->forward(low_level);
  const at::Tensor resized = resize_bilinear_aligned(encoder, projected.size(2), projected.size(3));
  return fuse_->forward(at::cat({resized, projected}, 1));
}

}  // namespace atrous::model
