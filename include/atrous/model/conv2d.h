#pragma once
// Conv2d: a 2-D convolution with torchvision's parameter names (weight, and bias when it has one)
// and "same" padding, dilation * (kernel - 1) / 2, the padding every DeepLab backbone and head uses
// (TF's explicit padding for stride-2 convs is the same for odd kernels).
//
// A small module of our own rather than torch::nn::Conv2d: the geometry is fixed at construction
// (after the backbone's atrous conversion), and `atrous describe` prints it in one line.
//
// Initialisation: He normal, fan-out (torchvision's, and TF DeepLab's ReLU-network choice);
// init_normal() gives the logits layer its N(0, std) weights and zero bias.
//
// A dilated one runs as ATen's convolution or as model/valid_tap_conv.h's, as model.atrous_conv
// and its rule say (model/atrous_conv_path.h): same parameters, same names, same result up to the
// order of summation.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "atrous/model/atrous_conv_path.h"

namespace atrous::model {

struct Conv2dSpec {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t kernel_size = 1;
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t groups = 1;  // in_channels for a depthwise convolution
  bool bias = false;
};

class Conv2dImpl : public torch::nn::Module {
 public:
  explicit Conv2dImpl(const Conv2dSpec& spec);

  at::Tensor forward(const at::Tensor& input);
  void init_normal(double std);
  void pretty_print(std::ostream& stream) const override;

  const Conv2dSpec& spec() const { return spec_; }
  void set_atrous_conv_path(AtrousConvPath path) { atrous_conv_path_ = path; }
  at::Tensor weight, bias;  // bias undefined when spec.bias is false

 private:
  Conv2dSpec spec_;
  AtrousConvPath atrous_conv_path_ = AtrousConvPath::automatic;
};

TORCH_MODULE(Conv2d);

// Every Conv2d in `net` (itself included) runs its dilated convolution as `path` says.
void use_atrous_conv_path(torch::nn::Module& net, AtrousConvPath path);

}  // namespace atrous::model
