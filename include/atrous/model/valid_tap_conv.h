#pragma once
// valid_tap_conv2d: a stride-1 "same" dilated convolution that multiplies only what reads inside its
// input. ATen's kernels (oneDNN, cuDNN) compute a dilated convolution over the zero padding as well,
// and their backward passes do so even where the forward skips it; at DeepLab's rates the padding is
// most of the work (rate 36 on a 41-pixel map: 85% of the multiply-adds).
//
// The maths (model/tap_windows.h for the windows Y_i, X_j and offsets d_i, d_j):
//
//   out[:, :, Y_i, X_j]           += W[:, :, i, j] * in[:, :, Y_i + d_i, X_j + d_j]     (forward)
//   grad_in[:, :, Y_i + d_i, X_j + d_j] += W[:, :, i, j]^T * grad_out[:, :, Y_i, X_j]   (input gradient)
//   grad_W[:, :, i, j]             = sum over n, Y_i, X_j of grad_out (x) in            (weight gradient)
//   grad_bias                      = sum over n, y, x of grad_out
//
// where "*" is a 1x1 convolution with the layer's groups, per tap over its window: the same products
// as the dilated convolution minus those with padding, so the result equals ATen's up to the order of
// summation. The centre tap covers the whole map and writes the output first; a tap whose window is
// empty is skipped (its weight gradient is 0), so a rate reaching past the map leaves the centre 1x1
// convolution. A depthwise layer (groups = in = out channels) runs its taps as per-channel
// multiply-adds, a dense or grouped one as oneDNN's / cuDNN's 1x1 convolutions.
//
// Precision: each tap's product is in the inputs' dtype, as in ATen's kernel. Float32 and float64 sum
// the taps in their own dtype; bfloat16 and float16 sum them in float32 and round once at the end.
// Under autocast the inputs are cast as autocast casts a convolution's (its cached weight copies
// included), so the function takes a convolution's place in a mixed-precision network unchanged.
//
// Layout: windows are copied in the input's suggested memory format (channels-last stays
// channels-last), and the output and input gradient have the input's layout.
//
// It is an autograd function of the first order (no double backward): gradients for the input,
// weight and bias that autograd asks for; an undefined bias has none.

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace atrous::model {

// input [N, C, H, W]; weight [C_out, C / groups, k, k], k odd; bias [C_out] or undefined; dilation >= 1.
// The output is [N, C_out, H, W]. Wrong shapes are an internal-invariant error (Conv2d checks its spec).
at::Tensor valid_tap_conv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                            int64_t dilation, int64_t groups);

}  // namespace atrous::model
