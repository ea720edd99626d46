#include "atrous/eval/confusion_matrix.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "atrous/core/error.h"

namespace atrous::eval {

at::Tensor confusion_matrix(const at::Tensor& predictions, const at::Tensor& labels, int64_t num_classes,
                            int64_t ignore_label) {
  ATROUS_ASSERT(predictions.sizes() == labels.sizes(), "predictions ", predictions.sizes(), " vs labels ",
                labels.sizes());
  const at::Tensor truth = labels.to(at::kLong).flatten().cpu();
  const at::Tensor predicted = predictions.to(at::kLong).flatten().cpu();
  const at::Tensor counted = truth != ignore_label;
  const at::Tensor t = truth.masked_select(counted), p = predicted.masked_select(counted);
  ATROUS_CHECK(t.numel() == 0 || (t.max().item<int64_t>() < num_classes && t.min().item<int64_t>() >= 0),
               "labels hold values outside 0..", num_classes - 1, " other than the ignore label ",
               ignore_label);
  return at::bincount(t * num_classes + p, {}, num_classes * num_classes)
      .view({num_classes, num_classes})
      .to(at::kLong);
}

SegmentationMetrics segmentation_metrics(const at::Tensor& matrix) {
  const at::Tensor m = matrix.to(at::kDouble).cpu();
  const int64_t classes = m.size(0);
  const at::Tensor true_positive = m.diagonal();
  const at::Tensor union_ = m.sum(0) + m.sum(1) - true_positive;
  SegmentationMetrics metrics;
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const double u = union_[c].item<double>();
    if (u == 0) {
      metrics.iou.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    metrics.iou.push_back(true_positive[c].item<double>() / u);
    sum += metrics.iou.back();
    ++metrics.classes_counted;
  }
  metrics.mean_iou = metrics.classes_counted > 0 ? sum / double(metrics.classes_counted) : 0.0;
  const double total = m.sum().item<double>();
  metrics.pixels = int64_t(total);
  metrics.pixel_accuracy = total > 0 ? true_positive.sum().item<double>() / total : 0.0;
  return metrics;
}

}  // namespace atrous::eval
