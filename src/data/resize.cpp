#include "atrous/data/resize.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "atrous/core/error.h"

namespace atrous::data {
namespace {

at::Tensor nearest_indices(int64_t in, int64_t out, const at::Device& device) {
  std::vector<int64_t> indices(out, 0);
  if (out > 1) {
    const float scale = static_cast<float>(in - 1) / static_cast<float>(out - 1);
    for (int64_t i = 0; i < out; ++i)
      indices[i] = std::min<int64_t>(static_cast<int64_t>(std::round(static_cast<float>(i) * scale)), in - 1);
  }
  return at::tensor(indices, at::kLong).to(device);
}

}  // namespace

at::Tensor resize_image_bilinear(const at::Tensor& image, int64_t height, int64_t width) {
  ATROUS_ASSERT(image.dim() >= 3, "image must be [..., C, H, W], got ", image.sizes());
  if (image.size(-2) == height && image.size(-1) == width) return image;
  const bool batched = image.dim() == 4;
  at::Tensor input = batched ? image : image.unsqueeze(0);
  at::Tensor resized = at::upsample_bilinear2d(input, {height, width}, /*align_corners=*/true);
  return batched ? resized : resized.squeeze(0);
}

at::Tensor resize_labels_nearest(const at::Tensor& labels, int64_t height, int64_t width) {
  ATROUS_ASSERT(labels.dim() >= 2, "labels must be [..., H, W], got ", labels.sizes());
  const int64_t rows = labels.dim() - 2, columns = labels.dim() - 1;
  if (labels.size(rows) == height && labels.size(columns) == width) return labels;
  return labels.index_select(rows, nearest_indices(labels.size(rows), height, labels.device()))
      .index_select(columns, nearest_indices(labels.size(columns), width, labels.device()));
}

}  // namespace atrous::data
