#pragma once
// Whether two tensors lay out their elements alike in memory.
//
// same_layout(a, b): equal sizes, and equal strides in every dimension of size > 1. The stride of a
// dimension of size 1 never moves an element, so LibTorch leaves it arbitrary: a [64, 8, 1, 1]
// weight is contiguous and channels-last at once, and its gradient may come with either strides.
// For two non-overlapping, dense tensors of the same layout, the element at flat position i of one
// storage is the element at flat position i of the other, so a loop over raw memory pairs them.

#include <ATen/core/Tensor.h>

namespace atrous {

bool same_layout(const at::Tensor& a, const at::Tensor& b);

}  // namespace atrous
