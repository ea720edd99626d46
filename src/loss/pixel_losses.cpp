#include "atrous/loss/pixel_losses.h"

#include <ATen/ATen.h>
#include <ATen/core/Reduction.h>

#include "atrous/core/error.h"
#include "atrous/data/resize.h"

namespace atrous::loss {
namespace {

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

SizeMatching size_matching(bool upsample_logits, bool align_corners) {
  if (!upsample_logits) return SizeMatching::resize_labels_nearest;
  return align_corners ? SizeMatching::upsample_logits_aligned : SizeMatching::upsample_logits_half_pixel;
}

PixelLosses weighted_pixel_losses(const at::Tensor& logits, const at::Tensor& labels,
                                  const at::Tensor& class_weights, int64_t ignore_label,
                                  SizeMatching matching) {
  ATROUS_ASSERT(logits.dim() == 4 && labels.dim() == 3 && logits.size(0) == labels.size(0),
                "logits [B, C, h, w] and labels [B, H, W] expected, got ", logits.sizes(), " and ",
                labels.sizes());
  const int64_t classes = logits.size(1);
  at::Tensor scores = logits.to(at::kFloat);
  at::Tensor targets = labels.to(at::kLong);
  if (matching == SizeMatching::resize_labels_nearest) {
    targets = data::resize_labels_nearest(targets, scores.size(2), scores.size(3));
  } else if (scores.size(2) != targets.size(1) || scores.size(3) != targets.size(2)) {
    scores = at::upsample_bilinear2d(scores, {targets.size(1), targets.size(2)},
                                     matching == SizeMatching::upsample_logits_aligned);
  }
  check_label_values(targets, classes, ignore_label);
  at::Tensor weights =
      class_weights.numel() == 1 ? class_weights.expand({classes}).contiguous() : class_weights;
  at::Tensor losses = at::nll_loss2d(at::log_softmax(scores, 1), targets, weights.to(scores.device()),
                                     at::Reduction::None, ignore_label);
  return {losses.reshape({-1}), targets.ne(ignore_label).sum().item<int64_t>()};
}

}  // namespace atrous::loss
