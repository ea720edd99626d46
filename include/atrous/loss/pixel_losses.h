#pragma once
// Per-pixel weighted softmax cross-entropy for one logits entry (TF DeepLab's
// add_softmax_cross_entropy_loss_for_each_scale, before the reduction).
//
// Logits and labels are brought to one size as SizeMatching says: the logits resized bilinearly to
// the labels' size, by the model's convention (model.logits_upsampling, carried by each
// ScaleOutput's align_corners flag), or the labels resized to the logits' size with nearest
// neighbour, never interpolated (data/resize.h).
// Each pixel's loss is weight * (-log softmax(logits)[label]), where the weight is 0 for the
// ignore label and class_weights[label] otherwise (class_weights: one value, or one per class).
// A label that is neither a class index nor the ignore label is counted, not thrown at once (that
// would read the labels back on a GPU): the loss reports it and its reader throws.

#include <ATen/core/Tensor.h>

namespace atrous::loss {

enum class SizeMatching {
  upsample_logits_aligned,     // logits to the labels' size: bilinear, align_corners=True (TF DeepLab)
  upsample_logits_half_pixel,  // logits to the labels' size: bilinear, half-pixel centres (torchvision)
  resize_labels_nearest,       // labels to the logits' size: nearest neighbour
};

// loss.upsample_logits and a ScaleOutput's align_corners flag as one SizeMatching.
SizeMatching size_matching(bool upsample_logits, bool align_corners);

struct PixelLosses {
  at::Tensor values;  // [batch * height * width] float32, >= 0, differentiable w.r.t. the logits
  at::Tensor valid;   // [] int64: pixels whose label is not the ignore label (nor an invalid one)
  // [2] float64: how many labels are neither a class index nor the ignore label, and the largest of
  // them (meaningless when there are none). Such pixels are left out of the loss like ignored ones;
  // whoever reads this back calls throw_if_invalid_labels.
  at::Tensor invalid_labels;
};

// logits [B, C, h, w]; labels [B, H, W] of an integer type on the same device; class_weights best
// there too (else they are copied, which on a GPU waits for it). Everything returned stays on that
// device: nothing is read back by the host.
PixelLosses weighted_pixel_losses(const at::Tensor& logits, const at::Tensor& labels,
                                  const at::Tensor& class_weights, int64_t ignore_label,
                                  SizeMatching matching);

// A UserError naming the largest invalid label, when `count` (PixelLosses::invalid_labels, read
// back) is not 0.
void throw_if_invalid_labels(double count, double largest, int64_t classes, int64_t ignore_label);

}  // namespace atrous::loss
