#include "atrous/model/conv2d.h"

#include <ATen/ATen.h>

#include <cmath>

#include "atrous/core/error.h"
#include "atrous/model/valid_tap_conv.h"

namespace atrous::model {

Conv2dImpl::Conv2dImpl(const Conv2dSpec& spec) : torch::nn::Module("Conv2d"), spec_(spec) {
  ATROUS_ASSERT(spec.in_channels > 0 && spec.out_channels > 0 && spec.kernel_size % 2 == 1 &&
                    spec.stride >= 1 && spec.dilation >= 1 && spec.groups >= 1 &&
                    spec.in_channels % spec.groups == 0 && spec.out_channels % spec.groups == 0,
                "invalid convolution ", spec.in_channels, " -> ", spec.out_channels, " kernel ",
                spec.kernel_size, " groups ", spec.groups);
  const double fan_out = double(spec.out_channels) * spec.kernel_size * spec.kernel_size;
  weight = register_parameter("weight", at::randn({spec.out_channels, spec.in_channels / spec.groups,
                                                   spec.kernel_size, spec.kernel_size}) *
                                            std::sqrt(2.0 / fan_out));
  if (spec.bias) bias = register_parameter("bias", at::zeros({spec.out_channels}));
}

at::Tensor Conv2dImpl::forward(const at::Tensor& input) {
  const DilatedConvShape shape{
      spec_.kernel_size,    spec_.stride,  spec_.dilation,
      input.size(2),        input.size(3), input.suggest_memory_format() == at::MemoryFormat::ChannelsLast,
      input.device().type()};
  if (runs_valid_taps(atrous_conv_path_, shape))
    return valid_tap_conv2d(input, weight, bias, spec_.dilation, spec_.groups);
  const int64_t padding = spec_.dilation * (spec_.kernel_size - 1) / 2;
  return at::conv2d(input, weight, bias, {spec_.stride, spec_.stride}, {padding, padding},
                    {spec_.dilation, spec_.dilation}, spec_.groups);
}

void Conv2dImpl::init_normal(double std) {
  at::NoGradGuard no_grad;
  weight.normal_(0.0, std);
  if (bias.defined()) bias.zero_();
}

void use_atrous_conv_path(torch::nn::Module& net, AtrousConvPath path) {
  // Not modules(include_self = true): that needs `net` held by a shared_ptr, which a module being
  // constructed is not yet.
  if (auto* conv = net.as<Conv2dImpl>()) conv->set_atrous_conv_path(path);
  for (const std::shared_ptr<torch::nn::Module>& module : net.modules(/*include_self=*/false))
    if (auto* conv = module->as<Conv2dImpl>()) conv->set_atrous_conv_path(path);
}

void Conv2dImpl::pretty_print(std::ostream& stream) const {
  stream << "Conv2d(" << spec_.in_channels << ", " << spec_.out_channels << ", kernel " << spec_.kernel_size;
  if (spec_.stride != 1) stream << ", stride " << spec_.stride;
  if (spec_.dilation != 1) stream << ", dilation " << spec_.dilation;
  if (spec_.groups == spec_.in_channels && spec_.groups > 1)
    stream << ", depthwise";
  else if (spec_.groups != 1)
    stream << ", groups " << spec_.groups;
  if (spec_.bias) stream << ", bias";
  stream << ")";
}

}  // namespace atrous::model
