#pragma once
// Resizing as TF DeepLab does it: images bilinearly with aligned corners, labels with nearest
// neighbour and TF's align_corners rule (a label is never interpolated).

#include <ATen/core/Tensor.h>

namespace atrous::data {

// [..., C, H, W] float image to [..., C, height, width]; bilinear, align_corners = true.
at::Tensor resize_image_bilinear(const at::Tensor& image, int64_t height, int64_t width);

// [..., H, W] labels to [..., height, width]: source index = round(target index * (in - 1) /
// (out - 1)), computed in float32.
at::Tensor resize_labels_nearest(const at::Tensor& labels, int64_t height, int64_t width);

}  // namespace atrous::data
