#include "atrous/loss/pixel_losses.h"

#include <ATen/ATen.h>
#include <ATen/core/Reduction.h>

#include <cmath>
#include <vector>

#include "atrous/core/error.h"

namespace atrous::loss {
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

void check_label_values(const at::Tensor& labels, int64_t classes, int64_t ignore_label) {
  at::Tensor bad = (labels.lt(0) | labels.ge(classes)) & labels.ne(ignore_label);
  if (!bad.any().item<bool>()) return;
  const int64_t value = labels.masked_select(bad).max().item<int64_t>();
  throw UserError(
      to_text("label value ", value, " is neither a class index (0..", classes - 1, ") nor the ignore label ",
              ignore_label, "; the dataset's label map or its number of classes does not match the model"),
      ATROUS_HERE);
}

}  // namespace

at::Tensor resize_labels_nearest(const at::Tensor& labels, int64_t height, int64_t width) {
  ATROUS_ASSERT(labels.dim() == 3, "labels must be [B, H, W], got ", labels.sizes());
  if (labels.size(1) == height && labels.size(2) == width) return labels;
  return labels.index_select(1, nearest_indices(labels.size(1), height, labels.device()))
      .index_select(2, nearest_indices(labels.size(2), width, labels.device()));
}

PixelLosses weighted_pixel_losses(const at::Tensor& logits, const at::Tensor& labels,
                                  const at::Tensor& class_weights, int64_t ignore_label,
                                  bool upsample_logits) {
  ATROUS_ASSERT(logits.dim() == 4 && labels.dim() == 3 && logits.size(0) == labels.size(0),
                "logits [B, C, h, w] and labels [B, H, W] expected, got ", logits.sizes(), " and ",
                labels.sizes());
  const int64_t classes = logits.size(1);
  at::Tensor scores = logits.to(at::kFloat);
  at::Tensor targets = labels.to(at::kLong);
  if (upsample_logits) {
    if (scores.size(2) != targets.size(1) || scores.size(3) != targets.size(2))
      scores = at::upsample_bilinear2d(scores, {targets.size(1), targets.size(2)}, /*align_corners=*/true);
  } else {
    targets = resize_labels_nearest(targets, scores.size(2), scores.size(3));
  }
  check_label_values(targets, classes, ignore_label);
  at::Tensor weights =
      class_weights.numel() == 1 ? class_weights.expand({classes}).contiguous() : class_weights;
  at::Tensor losses = at::nll_loss2d(at::log_softmax(scores, 1), targets, weights.to(scores.device()),
                                     at::Reduction::None, ignore_label);
  return {losses.reshape({-1}), targets.ne(ignore_label).sum().item<int64_t>()};
}

}  // namespace atrous::loss
