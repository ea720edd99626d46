#pragma once
// Colour masks for `atrous infer`: class indices painted with the dataset palette, and overlays of
// that paint on the image.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

namespace atrous::eval {

// indices [H, W] uint8 -> colours [H, W, 3] uint8; an index past the palette is painted black.
at::Tensor colourise(const at::Tensor& indices, const std::vector<std::array<uint8_t, 3>>& palette);

// (1 - alpha) * image + alpha * colours, both [H, W, 3] uint8, rounded.
at::Tensor overlay(const at::Tensor& image, const at::Tensor& colours, double alpha = 0.5);

}  // namespace atrous::eval
