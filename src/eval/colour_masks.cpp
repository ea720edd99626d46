#include "atrous/eval/colour_masks.h"

#include <ATen/ATen.h>

#include "atrous/core/error.h"

namespace atrous::eval {

at::Tensor colourise(const at::Tensor& indices, const std::vector<std::array<uint8_t, 3>>& palette) {
  ATROUS_ASSERT(indices.dim() == 2 && indices.scalar_type() == at::kByte, "indices ", indices.sizes());
  at::Tensor table = at::zeros({256, 3}, at::kByte);
  for (size_t k = 0; k < std::min<size_t>(palette.size(), 256); ++k)
    for (int c = 0; c < 3; ++c) table[int64_t(k)][c] = palette[k][c];
  return table.index_select(0, indices.flatten().to(at::kLong)).view({indices.size(0), indices.size(1), 3});
}

at::Tensor overlay(const at::Tensor& image, const at::Tensor& colours, double alpha) {
  ATROUS_ASSERT(image.sizes() == colours.sizes(), "image ", image.sizes(), " vs mask ", colours.sizes());
  return (image.to(at::kFloat) * (1 - alpha) + colours.to(at::kFloat) * alpha)
      .round()
      .clamp(0, 255)
      .to(at::kByte);
}

}  // namespace atrous::eval
