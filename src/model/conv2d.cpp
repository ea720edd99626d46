#include "atrous/model/conv2d.h"

#include <ATen/ATen.h>

#include <cmath>

#include "atrous/core/error.h"

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
  const int64_t padding = spec_.dilation * (spec_.kernel_size - 1) / 2;
  return at::conv2d(input, weight, bias, {spec_.stride, spec_.stride}, {padding, padding},
                    {spec_.dilation, spec_.dilation}, spec_.groups);
}

void Conv2dImpl::init_normal(double std) {
  at::NoGradGuard no_grad;
  weight.normal_(0.0, std);
  if (bias.defined()) bias.zero_();
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
