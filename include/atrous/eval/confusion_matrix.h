#pragma once
// Confusion matrix and the segmentation metrics derived from it (TF DeepLab's mean_iou).
//
// matrix[g][p] counts pixels of ground truth class g predicted as p; pixels labelled with the
// ignore label are not counted. From it, per class c: IoU = TP / (TP + FP + FN). A class absent from
// both the ground truth and the predictions has no IoU (NaN) and is left out of the mean: mIoU is
// the mean over the classes that appear. Pixel accuracy = trace / total.

#include <ATen/core/Tensor.h>

#include <vector>

namespace atrous::eval {

// predictions, labels: [N, H, W] integer tensors of the same shape. Returns [C, C] int64 (CPU).
at::Tensor confusion_matrix(const at::Tensor& predictions, const at::Tensor& labels, int64_t num_classes,
                            int64_t ignore_label);

struct SegmentationMetrics {
  std::vector<double> iou;  // per class; NaN for a class absent from ground truth and predictions
  double mean_iou = 0;      // over the classes with an IoU
  int64_t classes_counted = 0;
  double pixel_accuracy = 0;
  int64_t pixels = 0;
};

SegmentationMetrics segmentation_metrics(const at::Tensor& matrix);

}  // namespace atrous::eval
