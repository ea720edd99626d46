#include "atrous/model/valid_tap_conv.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <optional>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/model/precision.h"
#include "atrous/model/tap_windows.h"

namespace atrous::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Taps {
  int64_t kernel = 1;
  int64_t groups = 1;
  bool depthwise = false;  // groups = input channels = output channels: per-channel multiply-adds
  at::MemoryFormat format = at::MemoryFormat::Contiguous;  // the input's, and so the results'
  // The layout the taps run in: the input's for 1x1 convolutions; channels-last for per-channel
  // multiply-adds, whose windows then have the channels innermost (contiguous, vectorised) instead of
  // rows a few pixels long.
  at::MemoryFormat work_format = at::MemoryFormat::Contiguous;
  std::vector<TapWindow> rows, columns;

  int64_t centre() const { return (kernel - 1) / 2; }
  bool is_centre(int64_t i, int64_t j) const { return i == centre() && j == centre(); }
  bool reads_inside(int64_t i, int64_t j) const { return !rows[i].empty() && !columns[j].empty(); }
};

Taps taps_of(const at::Tensor& input, const at::Tensor& weight, int64_t dilation, int64_t groups) {
  Taps taps;
  taps.kernel = weight.size(2);
  taps.groups = groups;
  taps.depthwise = groups > 1 && groups == input.size(1) && weight.size(0) == groups;
  taps.format = input.suggest_memory_format();
  taps.work_format = taps.depthwise ? at::MemoryFormat::ChannelsLast : taps.format;
  taps.rows = tap_windows(input.size(2), taps.kernel, dilation);
  taps.columns = tap_windows(input.size(3), taps.kernel, dilation);
  return taps;
}

// The part of a [N, C, H, W] map under tap (i, j)'s window: the outputs it writes, or (shifted) the
// inputs it reads for them.
at::Tensor window(const at::Tensor& map, const Taps& taps, int64_t i, int64_t j, bool shifted) {
  const TapWindow &row = taps.rows[i], &column = taps.columns[j];
  return map.narrow(2, row.begin + (shifted ? row.offset : 0), row.size())
      .narrow(3, column.begin + (shifted ? column.offset : 0), column.size());
}

// W[:, :, i, j] as a 1x1 kernel [C_out, C / groups, 1, 1]; for a depthwise layer as [1, C, 1, 1],
// the per-channel factors.
at::Tensor tap_kernel(const at::Tensor& weight, const Taps& taps, int64_t i, int64_t j) {
  const at::Tensor kernel = weight.narrow(2, i, 1).narrow(3, j, 1);
  return taps.depthwise ? kernel.reshape({1, -1, 1, 1}) : kernel.contiguous(taps.work_format);
}

// The sum's dtype: float32 for the 16-bit dtypes, their own for float32 and float64.
at::ScalarType sum_dtype(at::ScalarType dtype) {
  return dtype == at::kBFloat16 || dtype == at::kHalf ? at::kFloat : dtype;
}

at::Tensor conv1x1(const at::Tensor& source, const at::Tensor& kernel, const at::Tensor& bias,
                   int64_t groups) {
  return at::convolution(source, kernel, bias, {1, 1}, {0, 0}, {1, 1}, false, {0, 0}, groups);
}

// `tensor` in `dtype` and `format`, copied only where it differs.
at::Tensor in(const at::Tensor& tensor, at::ScalarType dtype, at::MemoryFormat format) {
  return tensor.to(dtype, false, false, format);
}

at::Tensor forward_taps(const at::Tensor& original_input, const at::Tensor& weight, const at::Tensor& bias,
                        const Taps& taps) {
  const at::Tensor input = original_input.contiguous(taps.work_format);
  const int64_t c = taps.centre();
  const at::Tensor centre_kernel = tap_kernel(weight, taps, c, c);
  at::Tensor output =
      taps.depthwise ? input * centre_kernel : conv1x1(input, centre_kernel, bias, taps.groups);
  if (taps.depthwise && bias.defined()) output.add_(bias.view({1, -1, 1, 1}));
  at::Tensor sum;  // made at the first outer tap that reads inside the input
  for (int64_t i = 0; i < taps.kernel; ++i)
    for (int64_t j = 0; j < taps.kernel; ++j) {
      if (taps.is_centre(i, j) || !taps.reads_inside(i, j)) continue;
      if (!sum.defined()) sum = output.to(sum_dtype(output.scalar_type()));
      const at::Tensor source = window(input, taps, i, j, true), kernel = tap_kernel(weight, taps, i, j);
      at::Tensor target = window(sum, taps, i, j, false);
      if (taps.depthwise)
        target.addcmul_(source, kernel);
      else
        target.add_(conv1x1(source.contiguous(taps.work_format), kernel, {}, taps.groups));
    }
  return in(sum.defined() ? sum : output, output.scalar_type(), taps.format);
}

struct Gradients {
  at::Tensor input, weight, bias;
};

// Tap (i, j)'s share of the gradients: its input gradient added to `input_sum` (made from the
// centre tap's, which covers the whole map) and its weight gradient written into `weight_gradient`.
void tap_backward(const at::Tensor& grad, const at::Tensor& input, const at::Tensor& weight, const Taps& taps,
                  int64_t i, int64_t j, std::array<bool, 2> needed, at::Tensor& input_sum,
                  at::Tensor& weight_gradient) {
  const bool centre = taps.is_centre(i, j);
  const at::Tensor kernel = tap_kernel(weight, taps, i, j);
  at::Tensor source = centre ? input : window(input, taps, i, j, true);
  at::Tensor grad_window = centre ? grad : window(grad, taps, i, j, false);
  at::Tensor input_part, weight_part;
  if (taps.depthwise) {
    if (needed[0]) input_part = grad_window * kernel;
    if (needed[1]) weight_part = (grad_window * source).sum({0, 2, 3}, false, sum_dtype(grad.scalar_type()));
  } else {
    if (!centre)
      source = source.contiguous(taps.work_format), grad_window = grad_window.contiguous(taps.work_format);
    std::tie(input_part, weight_part, std::ignore) =
        at::convolution_backward(grad_window, source, kernel, c10::nullopt, {1, 1}, {0, 0}, {1, 1}, false,
                                 {0, 0}, taps.groups, {needed[0], needed[1], false});
  }
  if (needed[1])
    weight_gradient.narrow(2, i, 1).narrow(3, j, 1).copy_(weight_part.reshape({-1, weight.size(1), 1, 1}));
  if (!needed[0]) return;
  if (centre)
    input_sum = input_part.to(sum_dtype(input_part.scalar_type()));
  else
    window(input_sum, taps, i, j, true).add_(input_part);
}

Gradients backward_taps(const at::Tensor& grad_output, const at::Tensor& original_input,
                        const at::Tensor& weight, bool has_bias, const Taps& taps,
                        std::array<bool, 2> needed) {
  const at::Tensor input = original_input.contiguous(taps.work_format);
  const at::Tensor grad = grad_output.contiguous(taps.work_format);
  Gradients gradients;
  if (has_bias) gradients.bias = grad.sum({0, 2, 3});
  if (needed[1]) gradients.weight = at::zeros_like(weight);
  at::Tensor input_sum;
  const int64_t c = taps.centre();
  tap_backward(grad, input, weight, taps, c, c, needed, input_sum, gradients.weight);
  for (int64_t i = 0; i < taps.kernel; ++i)
    for (int64_t j = 0; j < taps.kernel; ++j)
      if (!taps.is_centre(i, j) && taps.reads_inside(i, j))
        tap_backward(grad, input, weight, taps, i, j, needed, input_sum, gradients.weight);
  if (needed[0]) gradients.input = in(input_sum, input.scalar_type(), taps.format);
  return gradients;
}

class ValidTapConv : public torch::autograd::Function<ValidTapConv> {
 public:
  // `bias` has no elements for a layer without one (LibTorch 1.13's apply() needs defined inputs).
  static at::Tensor forward(AutogradContext* context, const at::Tensor& input, const at::Tensor& weight,
                            const at::Tensor& bias, int64_t dilation, int64_t groups) {
    const bool has_bias = bias.numel() > 0;
    context->save_for_backward({input, weight});
    context->saved_data["dilation"] = dilation;
    context->saved_data["groups"] = groups;
    context->saved_data["has_bias"] = has_bias;
    return forward_taps(input, weight, has_bias ? bias : at::Tensor(),
                        taps_of(input, weight, dilation, groups));
  }

  static variable_list backward(AutogradContext* context, variable_list grad_outputs) {
    const variable_list saved = context->get_saved_variables();
    const at::Tensor &input = saved[0], &weight = saved[1];
    const Taps taps = taps_of(input, weight, context->saved_data["dilation"].toInt(),
                              context->saved_data["groups"].toInt());
    const Gradients gradients =
        backward_taps(grad_outputs[0], input, weight, context->saved_data["has_bias"].toBool(), taps,
                      {context->needs_input_grad(0), context->needs_input_grad(1)});
    return {gradients.input, gradients.weight, gradients.bias, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor valid_tap_conv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                            int64_t dilation, int64_t groups) {
  ATROUS_ASSERT(
      input.dim() == 4 && weight.dim() == 4 && weight.size(2) == weight.size(3) && weight.size(2) % 2 == 1 &&
          dilation >= 1 && groups >= 1 && input.size(1) == weight.size(1) * groups &&
          (!bias.defined() || bias.numel() == weight.size(0)),
      "valid-tap convolution of input ", input.sizes(), " with weight ", weight.sizes(), ", groups ", groups);
  const std::optional<at::ScalarType> autocast = active_autocast_dtype(input.device().type());
  const auto cast = [&](const at::Tensor& tensor) {
    return autocast ? at::autocast::cached_cast(*autocast, tensor, input.device().type()) : tensor;
  };
  const at::Tensor bias_or_empty = bias.defined() ? bias : at::empty({0}, weight.options());
  return ValidTapConv::apply(cast(input), cast(weight), cast(bias_or_empty), dilation, groups);
}

}  // namespace atrous::model
