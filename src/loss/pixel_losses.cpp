#include "atrous/loss/pixel_losses.h"

#include <ATen/ATen.h>
#include <ATen/core/Reduction.h>

#include <limits>

#include "atrous/core/error.h"
#include "atrous/data/resize.h"

namespace atrous::loss {
namespace {

// [2] float64: how many labels are invalid, and the largest of them.
at::Tensor invalid_label_summary(const at::Tensor& targets, const at::Tensor& invalid) {
  if (targets.numel() == 0) return at::zeros({2}, targets.options().dtype(at::kDouble));
  const at::Tensor largest =
      at::where(invalid, targets, at::full({}, std::numeric_limits<int64_t>::min(), targets.options())).max();
  return at::stack({invalid.sum().to(at::kDouble), largest.to(at::kDouble)});
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
  const at::Tensor invalid = (targets.lt(0) | targets.ge(classes)) & targets.ne(ignore_label);
  const at::Tensor invalid_labels = invalid_label_summary(targets, invalid);
  targets = targets.masked_fill(invalid, ignore_label);  // out of the loss, as ATen's nll requires
  at::Tensor weights =
      class_weights.numel() == 1 ? class_weights.expand({classes}).contiguous() : class_weights;
  at::Tensor losses = at::nll_loss2d(at::log_softmax(scores, 1), targets, weights.to(scores.device()),
                                     at::Reduction::None, ignore_label);
  return {losses.reshape({-1}), targets.ne(ignore_label).sum(), invalid_labels};
}

void throw_if_invalid_labels(double count, double largest, int64_t classes, int64_t ignore_label) {
  if (count == 0) return;
  throw UserError(to_text("label value ", int64_t(largest), " is neither a class index (0..", classes - 1,
                          ") nor the ignore label ", ignore_label,
                          "; the dataset's label map or its number of classes does not match the model"),
                  ATROUS_HERE);
}

}  // namespace atrous::loss
