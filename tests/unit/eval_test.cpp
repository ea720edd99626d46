// Evaluation metrics against an independent count, the absent-class convention, and multi-scale +
// flip inference against the averaging written out by hand.

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>

#include "atrous/eval/confusion_matrix.h"
#include "atrous/eval/predictor.h"
#include "atrous/model/multi_scale.h"

namespace atrous::eval {
namespace {

TEST(ConfusionMatrix, MatchesAPixelByPixelCountAndSkipsTheIgnoreLabel) {
  at::manual_seed(3);
  const at::Tensor labels = at::randint(0, 4, {2, 7, 9}, at::kLong);
  labels.view(-1).slice(0, 0, 20).fill_(255);
  const at::Tensor predictions = at::randint(0, 4, {2, 7, 9}, at::kLong);
  const at::Tensor matrix = confusion_matrix(predictions, labels, 4, 255);
  std::vector<int64_t> expected(16, 0);
  auto l = labels.flatten(), p = predictions.flatten();
  for (int64_t i = 0; i < l.numel(); ++i)
    if (l[i].item<int64_t>() != 255) ++expected[l[i].item<int64_t>() * 4 + p[i].item<int64_t>()];
  for (int g = 0; g < 4; ++g)
    for (int q = 0; q < 4; ++q) EXPECT_EQ(matrix[g][q].item<int64_t>(), expected[g * 4 + q]);
  EXPECT_EQ(matrix.sum().item<int64_t>(), 2 * 7 * 9 - 20);
}

TEST(SegmentationMetrics, IouPerClassAndTheAbsentClassLeftOutOfTheMean) {
  // Class 0: TP 3, FN 1 (predicted 1), FP 2 (from class 1). Class 1: TP 4, FP 1, FN 2. Class 2 absent.
  const at::Tensor matrix = at::tensor({3, 1, 0, 2, 4, 0, 0, 0, 0}, at::kLong).view({3, 3});
  const SegmentationMetrics metrics = segmentation_metrics(matrix);
  EXPECT_DOUBLE_EQ(metrics.iou[0], 3.0 / (3 + 1 + 2));
  EXPECT_DOUBLE_EQ(metrics.iou[1], 4.0 / (4 + 2 + 1));
  EXPECT_TRUE(std::isnan(metrics.iou[2]));
  EXPECT_EQ(metrics.classes_counted, 2);
  EXPECT_DOUBLE_EQ(metrics.mean_iou, (3.0 / 6 + 4.0 / 7) / 2);
  EXPECT_DOUBLE_EQ(metrics.pixel_accuracy, 7.0 / 10);
  // A class predicted but never in the ground truth counts, with IoU 0.
  const SegmentationMetrics spurious = segmentation_metrics(at::tensor({5, 1, 0, 0}, at::kLong).view({2, 2}));
  EXPECT_EQ(spurious.classes_counted, 2);
  EXPECT_DOUBLE_EQ(spurious.iou[1], 0.0);
}

TEST(Predictor, AveragesSoftmaxOverScalesAndFlipsAtFullResolution) {
  model::ModelOptions options;
  options.backbone = "mobilenet_v2";
  options.output_stride = 32;
  at::manual_seed(0);
  model::DeepLab net(options, 3);
  net->eval();
  const at::Tensor images = at::rand({1, 3, 41, 57}) * 255;
  PredictOptions predict;
  predict.scales = "0.5,1.25";
  predict.flip = true;
  Predictor predictor(net, predict);
  const at::Tensor probabilities = predictor.probabilities(images);

  at::NoGradGuard no_grad;
  const at::Tensor x = net->normalise(images);
  at::Tensor expected = at::zeros_like(probabilities);
  for (double s : {0.5, 1.25})
    for (bool flip : {false, true}) {
      const at::Tensor input = flip ? x.flip({3}) : x;
      at::Tensor logits = net->logits_at_one_scale(at::upsample_bilinear2d(
          input, {model::scale_dimension(41, s), model::scale_dimension(57, s)}, true));
      at::Tensor p = at::softmax(at::upsample_bilinear2d(logits, {41, 57}, true), 1);
      expected += (flip ? p.flip({3}) : p) / 4.0;
    }
  EXPECT_EQ(probabilities.sizes(), (at::IntArrayRef{1, 3, 41, 57}));
  EXPECT_TRUE(at::allclose(probabilities, expected, 1e-5, 1e-6));
  EXPECT_TRUE(at::equal(predictor.predict(images), expected.argmax(1)));
  // Flipping the input mirrors the flip-averaged prediction exactly.
  EXPECT_TRUE(at::allclose(predictor.probabilities(images.flip({3})), probabilities.flip({3}), 1e-5, 1e-6));
}

}  // namespace
}  // namespace atrous::eval
