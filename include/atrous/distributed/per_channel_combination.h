#pragma once
// per_channel_combination: out = a[c] * u + b[c] * v + k[c] for tensors u, v of one shape [N, C, ...],
// per-channel coefficient vectors a, b, k of C elements: the input gradient of batch norm
// (distributed/sync_batch_norm.h) as one expression.
//
// On the CPU, for float32 and float64 in NCHW-contiguous or channels-last layout, one pass over u
// and v (parallel over LibTorch's intra-op threads) writes the output in u's layout with no other
// temporary. Other devices, dtypes and layouts use ATen's broadcasting addcmul (two passes).
// The coefficients are converted to u's dtype first; u and v must have the same sizes, dtype and
// device.

#include <ATen/core/Tensor.h>

namespace atrous::distributed {

at::Tensor per_channel_combination(const at::Tensor& a, const at::Tensor& u, const at::Tensor& b,
                                   const at::Tensor& v, const at::Tensor& k);

}  // namespace atrous::distributed
