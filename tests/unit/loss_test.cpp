#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "atrous/core/error.h"
#include "atrous/data/resize.h"
#include "atrous/distributed/local_communicator.h"
#include "atrous/loss/hard_example_mining.h"
#include "atrous/loss/pixel_losses.h"
#include "atrous/loss/segmentation_loss.h"
#include "atrous/loss/top_k_selection.h"

namespace atrous::loss {
namespace {

distributed::LocalCommunicator one_rank;

LossOptions with(double p, const std::string& weights = "1", bool upsample = true, int mining_step = 0) {
  LossOptions options;
  options.top_k_percent_pixels = p;
  options.label_weights = weights;
  options.upsample_logits = upsample;
  options.hard_example_mining_step = mining_step;
  return options;
}

model::ScaleOutputs merged(const at::Tensor& logits) {
  return {{"merged", logits}};
}

TEST(SegmentationLoss, HandComputedMeanOverValidPixels) {
  // One image, two classes, three pixels in a row. Logits per pixel: [0, 0] with label 1 (loss
  // ln 2), [ln 3, 0] with label 0 (softmax 3/4, loss ln 4/3), and an ignored pixel.
  at::Tensor logits =
      at::stack({at::tensor({0.0f, std::log(3.0f), 0.0f}), at::zeros({3})}).view({1, 2, 1, 3});
  at::Tensor labels = at::tensor({1, 0, 255}, at::kByte).view({1, 1, 3});
  SegmentationLoss loss(with(1.0), 2, 255, one_rank);
  LossResult result = loss(merged(logits), labels, 0);
  const double expected = (std::log(2.0) + std::log(4.0 / 3.0)) / 2;
  const LossValues values = result.report.read();
  EXPECT_NEAR(values.total, expected, 1e-6);
  ASSERT_EQ(values.entries.size(), 1u);
  EXPECT_EQ(values.entries[0].name, "merged");
  EXPECT_NEAR(result.backward.item<double>(), expected, 1e-6);

  // Class weights scale each pixel; the divisor still counts every non-ignored pixel (as TF).
  SegmentationLoss weighted(with(1.0, "2,0.5"), 2, 255, one_rank);
  EXPECT_NEAR(weighted(merged(logits), labels, 0).report.read().total,
              (0.5 * std::log(2.0) + 2 * std::log(4.0 / 3.0)) / 2, 1e-6);
}

TEST(SegmentationLoss, AllIgnoredGivesZeroAndZeroGradientNeverNaN) {
  at::Tensor logits = at::randn({2, 3, 4, 4}).requires_grad_(true);
  at::Tensor labels = at::full({2, 4, 4}, 255, at::kByte);
  for (double p : {1.0, 0.25}) {
    SegmentationLoss loss(with(p), 3, 255, one_rank);
    LossResult result = loss(merged(logits), labels, 0);
    EXPECT_EQ(result.report.read().total, 0.0) << p;
    result.backward.backward();
    EXPECT_TRUE(logits.grad().eq(0).all().item<bool>()) << p;
    EXPECT_FALSE(logits.grad().isnan().any().item<bool>()) << p;
    logits.grad().zero_();
  }
}

TEST(HardExampleMining, ScheduleFromAllPixelsDownToTheFraction) {
  EXPECT_EQ(top_k_pixel_count(0.25, 0, 0, 10), 2);      // int(2.5)
  EXPECT_EQ(top_k_pixel_count(0.25, 0, 12345, 10), 2);  // no schedule: step does not matter
  EXPECT_EQ(top_k_pixel_count(0.5, 100, 0, 10), 10);    // step 0: every pixel
  EXPECT_EQ(top_k_pixel_count(0.5, 100, 50, 10), 7);    // half-way: (0.25 + 0.5) * 10 = 7.5
  EXPECT_EQ(top_k_pixel_count(0.5, 100, 100, 10), 5);   // done
  EXPECT_EQ(top_k_pixel_count(0.5, 100, 1000, 10), 5);  // and stays there
  EXPECT_EQ(top_k_pixel_count(1.0, 0, 0, 513 * 513 * 4), 513 * 513 * 4);
}

TEST(TopKSelection, TiesShareTheRemainingSlots) {
  at::Tensor values = at::tensor({1.0f, 3.0f, 1.0f, 0.0f, 1.0f});
  TopKThreshold threshold = local_top_k(values, 2);
  EXPECT_EQ(threshold.value, 1.0f);
  EXPECT_EQ(threshold.greater, 1);
  EXPECT_EQ(threshold.equal, 3);
  at::Tensor weights = selection_weights(values, threshold);
  EXPECT_TRUE(at::allclose(weights, at::tensor({1.0f / 3, 1.0f, 1.0f / 3, 0.0f, 1.0f / 3})));
  EXPECT_FLOAT_EQ((weights * values).sum().item<float>(), 4.0f);  // = 3 + 1, the top-2 sum
  EXPECT_EQ(nonzero_count(threshold), 2);
}

TEST(TopKSelection, ZerosInsideTheTopKAreNotCounted) {
  at::Tensor values = at::tensor({0.0f, 2.0f, -0.0f, 0.0f, 0.0f, 0.0f});
  TopKThreshold threshold = local_top_k(values, 4);
  EXPECT_EQ(threshold.value, 0.0f);
  EXPECT_EQ(nonzero_count(threshold), 1);
  EXPECT_FLOAT_EQ((selection_weights(values, threshold) * values).sum().item<float>(), 2.0f);
  EXPECT_EQ(local_top_k(values, 0).k, 0);
  EXPECT_EQ(nonzero_count(local_top_k(values, 0)), 0);
  EXPECT_TRUE(selection_weights(values, local_top_k(values, 0)).eq(0).all().item<bool>());
}

// n pixel losses with repeats and zeros: exponentials rounded to a grid chosen by the trial (none,
// 0.5 or 1e-3), about a fifth of them set to `zero` (0.0 or -0.0).
at::Tensor pixel_losses_with_ties(int64_t n, int trial, double zero) {
  at::Tensor values = at::empty({n}).exponential_(1.0);
  const float grid = std::vector<float>{0.0f, 0.5f, 1e-3f}[trial % 3];
  if (grid > 0) values = at::round(values / grid) * grid;
  return values.masked_fill_(at::rand({n}) < 0.2, zero);
}

TEST(TopKSelection, MatchesASortBasedReferenceOnRandomValues) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = 1 + random() % 3000;
    const at::Tensor values = pixel_losses_with_ties(n, trial, 0.0);
    const int64_t k = random() % (n + 1);
    std::vector<float> sorted(values.data_ptr<float>(), values.data_ptr<float>() + n);
    std::sort(sorted.begin(), sorted.end(), std::greater<float>());
    double reference_sum = 0;
    int64_t reference_nonzero = 0;
    for (int64_t i = 0; i < k; ++i) reference_sum += sorted[i], reference_nonzero += sorted[i] != 0;

    TopKThreshold threshold = local_top_k(values, k);
    if (k > 0) {
      EXPECT_EQ(threshold.value, sorted[k - 1]) << "trial " << trial;
    }
    EXPECT_EQ(nonzero_count(threshold), reference_nonzero) << "trial " << trial;
    at::Tensor weights = selection_weights(values, threshold);
    EXPECT_NEAR((weights.to(at::kDouble) * values.to(at::kDouble)).sum().item<double>(), reference_sum,
                1e-6 * std::max(1.0, reference_sum))  // shares m / c are float32
        << "trial " << trial << " n " << n << " k " << k;
    EXPECT_NEAR(weights.sum().item<double>(), static_cast<double>(k), 1e-3) << "trial " << trial;
  }
}

// The selection made where the values are (kthvalue and counts as tensors) is the radix search's,
// to the bit: same weights (tie shares included) and non-zero count, for zeros, -0.0 and ties.
TEST(TopKSelection, OnTheDeviceEqualsTheRadixSearch) {
  std::mt19937 random(11);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = 1 + random() % 3000;
    const at::Tensor values = pixel_losses_with_ties(n, trial, trial % 2 ? -0.0 : 0.0);
    const int64_t k = trial % 10 == 0 ? n * (trial % 20 == 0) : int64_t(random() % (n + 1));
    const TopKThreshold threshold = local_top_k(values, k);
    const DeviceSelection selection = local_top_k_on_device(values, k);
    EXPECT_TRUE(selection.weights.equal(selection_weights(values, threshold)))
        << "trial " << trial << " k " << k;
    EXPECT_EQ(selection.nonzero.item<double>(), double(nonzero_count(threshold))) << "trial " << trial;
  }
}

// The loss of one entry computed independently, in double: explicit log-softmax, a full sort for
// the top k (random logits have no ties), TF's formulas.
at::Tensor reference_loss(const at::Tensor& logits, const at::Tensor& labels, const at::Tensor& weights,
                          double p) {
  at::Tensor x = logits.to(at::kDouble);
  at::Tensor valid = labels.ne(255);
  at::Tensor safe = labels.to(at::kLong).masked_fill(~valid, 0);
  at::Tensor log_norm = at::logsumexp(x, 1);
  at::Tensor picked = x.gather(1, safe.unsqueeze(1)).squeeze(1);
  at::Tensor w = weights.to(at::kDouble).index_select(0, safe.reshape({-1})).view_as(picked) * valid;
  at::Tensor v = ((log_norm - picked) * w).reshape({-1});
  if (p == 1.0) return v.sum() / std::max(1e-5, valid.sum().item<double>());
  const int64_t k = static_cast<int64_t>(static_cast<float>(p) * static_cast<float>(v.numel()));
  at::Tensor top = std::get<0>(at::sort(v, 0, /*descending=*/true)).narrow(0, 0, k);
  const double nonzero = top.ne(0).sum().item<double>();
  return nonzero > 0 ? top.sum() / nonzero : top.sum() * 0;
}

TEST(SegmentationLoss, MatchesAnIndependentReferenceValueAndGradient) {
  at::manual_seed(3);
  for (double p : {1.0, 0.3}) {
    for (const std::string weights : {"1", "0.5,2,1,0"}) {
      at::Tensor logits = at::randn({2, 4, 9, 7}).requires_grad_(true);
      at::Tensor labels = at::randint(0, 4, {2, 9, 7}, at::kLong).to(at::kByte);
      labels.masked_fill_(at::rand({2, 9, 7}) < 0.15, 255);
      SegmentationLoss loss(with(p, weights), 4, 255, one_rank);
      LossResult ours = loss(merged(logits), labels, 0);
      ours.backward.backward();
      at::Tensor our_gradient = logits.grad().clone();
      logits.grad().zero_();

      at::Tensor reference = reference_loss(logits, labels, parse_label_weights(weights, 4).expand({4}), p);
      reference.backward();
      EXPECT_NEAR(ours.report.read().total, reference.item<double>(), 1e-5) << p << " " << weights;
      EXPECT_TRUE(at::allclose(our_gradient, logits.grad().to(at::kFloat), 1e-4, 1e-6))
          << p << " " << weights << ": max difference "
          << (our_gradient - logits.grad()).abs().max().item<double>();
    }
  }
}

TEST(SegmentationLoss, EveryScaleAndTheMergedLogitsAreSummed) {
  at::Tensor a = at::randn({1, 3, 5, 5}), b = at::randn({1, 3, 5, 5});
  at::Tensor labels = at::randint(0, 3, {1, 5, 5}, at::kLong);
  SegmentationLoss loss(with(1.0), 3, 255, one_rank);
  LossResult both = loss({{"scale_1", a}, {"merged", b}}, labels, 0);
  const double only_a = loss(merged(a), labels, 0).report.read().total;
  const double only_b = loss(merged(b), labels, 0).report.read().total;
  const LossValues values = both.report.read();
  ASSERT_EQ(values.entries.size(), 2u);
  EXPECT_EQ(values.entries[0].name, "scale_1");
  EXPECT_NEAR(values.entries[0].value, only_a, 1e-9);
  EXPECT_NEAR(values.entries[1].value, only_b, 1e-9);
  EXPECT_NEAR(values.total, only_a + only_b, 1e-9);
  EXPECT_NEAR(both.backward.item<double>(), only_a + only_b, 1e-5);
}

TEST(SegmentationLoss, AnEntrysLossWeightScalesItsTermButNotItsReportedValue) {
  at::Tensor a = at::randn({1, 3, 5, 5}), b = at::randn({1, 3, 5, 5});
  at::Tensor labels = at::randint(0, 3, {1, 5, 5}, at::kLong);
  SegmentationLoss loss(with(1.0), 3, 255, one_rank);
  LossResult both = loss({{"merged", a}, {"aux", b, 0.4}}, labels, 0);
  const double only_a = loss(merged(a), labels, 0).report.read().total;
  const double only_b = loss(merged(b), labels, 0).report.read().total;
  const LossValues values = both.report.read();
  EXPECT_NEAR(values.entries[1].value, only_b, 1e-9);
  EXPECT_NEAR(values.total, only_a + 0.4 * only_b, 1e-9);
  EXPECT_NEAR(both.backward.item<double>(), only_a + 0.4 * only_b, 1e-5);
}

TEST(Resize, LabelsFollowTensorFlowsAlignCornersNearestRule) {
  at::Tensor row = at::arange(5, at::kLong).view({1, 1, 5});
  EXPECT_TRUE(data::resize_labels_nearest(row, 1, 3).equal(at::tensor({0, 2, 4}, at::kLong).view({1, 1, 3})));
  at::Tensor four = at::arange(4, at::kLong).view({1, 1, 4});
  EXPECT_TRUE(
      data::resize_labels_nearest(four, 1, 3).equal(at::tensor({0, 2, 3}, at::kLong).view({1, 1, 3})));
  at::Tensor three = at::arange(3, at::kLong).view({1, 1, 3});
  EXPECT_TRUE(
      data::resize_labels_nearest(three, 1, 5).equal(at::tensor({0, 1, 1, 2, 2}, at::kLong).view({1, 1, 5})));
}

TEST(PixelLosses, LogitsUpsampleBilinearlyWithAlignedCorners) {
  // 2x2 logits to 3x3 labels: aligned corners keep the corners, edge midpoints average two, the
  // centre averages four.
  at::Tensor logits = at::randn({1, 2, 2, 2});
  at::Tensor up = at::zeros({1, 2, 3, 3});
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x)
      up.select(2, y).select(2, x).copy_((logits.select(2, y / 2).select(2, x / 2) +
                                          logits.select(2, (y + 1) / 2).select(2, x / 2) +
                                          logits.select(2, y / 2).select(2, (x + 1) / 2) +
                                          logits.select(2, (y + 1) / 2).select(2, (x + 1) / 2)) /
                                         4);
  at::Tensor labels = at::randint(0, 2, {1, 3, 3}, at::kLong);
  at::Tensor ones = at::ones({1});
  PixelLosses upsampled =
      weighted_pixel_losses(logits, labels, ones, 255, SizeMatching::upsample_logits_aligned);
  PixelLosses manual = weighted_pixel_losses(up, labels, ones, 255, SizeMatching::upsample_logits_aligned);
  EXPECT_TRUE(at::allclose(upsampled.values, manual.values, 1e-5, 1e-6));
  // The other way round: labels come down to the logits' 2x2 by nearest neighbour.
  PixelLosses downsampled =
      weighted_pixel_losses(logits, labels, ones, 255, SizeMatching::resize_labels_nearest);
  EXPECT_EQ(downsampled.values.numel(), 4);
  at::Tensor picked =
      labels.index({at::indexing::Slice(), at::indexing::Slice(0, 3, 2), at::indexing::Slice(0, 3, 2)});
  EXPECT_TRUE(at::allclose(
      downsampled.values,
      weighted_pixel_losses(logits, picked, ones, 255, SizeMatching::upsample_logits_aligned).values));
}

TEST(PixelLosses, HalfPixelUpsamplingIsTorchvisionsInterpolateAndDiffersFromAlignedCorners) {
  at::Tensor logits = at::randn({1, 3, 4, 5});
  at::Tensor labels = at::randint(0, 3, {1, 13, 17}, at::kLong);
  at::Tensor ones = at::ones({1});
  const at::Tensor half_pixel = at::upsample_bilinear2d(logits, {13, 17}, /*align_corners=*/false);
  PixelLosses upsampled =
      weighted_pixel_losses(logits, labels, ones, 255, SizeMatching::upsample_logits_half_pixel);
  PixelLosses manual =
      weighted_pixel_losses(half_pixel, labels, ones, 255, SizeMatching::upsample_logits_aligned);
  EXPECT_TRUE(at::allclose(upsampled.values, manual.values, 1e-5, 1e-6));
  PixelLosses aligned =
      weighted_pixel_losses(logits, labels, ones, 255, SizeMatching::upsample_logits_aligned);
  EXPECT_GT((upsampled.values - aligned.values).abs().max().item<double>(), 1e-2);
}

TEST(PixelLosses, SizeMatchingCombinesTheLossOptionAndTheOutputsFlag) {
  EXPECT_EQ(size_matching(true, true), SizeMatching::upsample_logits_aligned);
  EXPECT_EQ(size_matching(true, false), SizeMatching::upsample_logits_half_pixel);
  EXPECT_EQ(size_matching(false, true), SizeMatching::resize_labels_nearest);
  EXPECT_EQ(size_matching(false, false), SizeMatching::resize_labels_nearest);
}

TEST(SegmentationLoss, UpsamplesEachEntryByItsOwnConvention) {
  at::Tensor logits = at::randn({2, 3, 4, 5});
  at::Tensor labels = at::randint(0, 3, {2, 13, 17}, at::kByte);
  SegmentationLoss loss(with(1.0), 3, 255, one_rank);
  auto loss_of = [&](const at::Tensor& entry_logits, bool align_corners) {
    model::ScaleOutputs outputs{{"merged", entry_logits}};
    outputs[0].align_corners = align_corners;
    return loss(outputs, labels, 0).report.read().total;
  };
  for (bool align_corners : {true, false}) {
    const at::Tensor upsampled = at::upsample_bilinear2d(logits, {13, 17}, align_corners);
    EXPECT_NEAR(loss_of(logits, align_corners), loss_of(upsampled, !align_corners), 1e-6) << align_corners;
  }
  EXPECT_GT(std::abs(loss_of(logits, true) - loss_of(logits, false)), 1e-4);
}

TEST(SegmentationLoss, OptionsAreValidatedByName) {
  auto message_of = [](const LossOptions& options) {
    try {
      SegmentationLoss loss(options, 3, 255, one_rank);
    } catch (const OptionError& error) {
      return error.message();
    }
    return std::string();
  };
  EXPECT_NE(message_of(with(0.0)).find("--loss.top_k_percent_pixels = 0 is not allowed"), std::string::npos);
  EXPECT_NE(message_of(with(1.5)).find("loss.top_k_percent_pixels"), std::string::npos);
  EXPECT_NE(message_of(with(1.0, "1,2")).find("exactly 3 (one per class); 2 given"), std::string::npos);
  EXPECT_NE(message_of(with(1.0, "1,-2,1")).find("loss.label_weights"), std::string::npos);
  EXPECT_NE(message_of(with(1.0, "one")).find("loss.label_weights"), std::string::npos);
  EXPECT_NE(message_of(with(1.0, "0")).find("at least one is > 0"), std::string::npos);
  EXPECT_NE(message_of(with(1.0, "0,0,0")).find("at least one is > 0"), std::string::npos);
  EXPECT_NE(message_of(with(1.0, "1", true, -1)).find("loss.hard_example_mining_step"), std::string::npos);
  try {
    parse_choice("loss.top_k_scope", top_k_scope_choices(), std::string("both"));
    ADD_FAILURE() << "accepted loss.top_k_scope = both";
  } catch (const OptionError& error) {
    EXPECT_NE(
        std::string(error.what()).find("--loss.top_k_scope = both is not allowed; allowed: local or global"),
        std::string::npos);
  }
  EXPECT_EQ(message_of(with(0.5, "1,2,3")), "");
}

// Found where the labels are and reported when the loss is read (a GPU is not synchronised for
// it), the largest invalid label named; meanwhile its pixel is out of the loss, like an ignored one.
TEST(SegmentationLoss, LabelOutsideTheClassesIsAnErrorNamingTheValueWhenRead) {
  at::Tensor labels = at::zeros({1, 2, 2}, at::kLong);
  labels[0][0][1] = -3;
  labels[0][1][1] = 7;
  const at::Tensor logits = at::randn({1, 3, 2, 2});
  for (double p : {1.0, 0.5}) {
    SegmentationLoss loss(with(p), 3, 255, one_rank);
    const LossResult result = loss(merged(logits), labels, 0);
    at::Tensor ignored = labels.clone();
    ignored.masked_fill_(labels.ne(0), 255);
    EXPECT_TRUE(result.backward.equal(loss(merged(logits), ignored, 0).backward)) << p;
    const LossResult fine = loss(merged(logits), ignored, 0);
    try {
      read_losses({fine.report, result.report});
      ADD_FAILURE() << "labels 7 and -3 accepted with 3 classes";
    } catch (const UserError& error) {
      EXPECT_NE(
          error.message().find("label value 7 is neither a class index (0..2) nor the ignore label 255"),
          std::string::npos)
          << error.message();
    }
  }
}

TEST(SegmentationLoss, ReportsOfSeveralCallsAreReadInOrder) {
  SegmentationLoss loss(with(1.0), 3, 255, one_rank);
  const at::Tensor labels = at::randint(0, 3, {1, 5, 5}, at::kLong);
  const at::Tensor a = at::randn({1, 3, 5, 5}), b = at::randn({1, 3, 5, 5});
  const LossResult first = loss(merged(a), labels, 0);
  const LossResult second = loss({{"scale_1", a}, {"merged", b, 0.5}}, labels, 0);
  const std::vector<LossValues> both = read_losses({first.report, second.report});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].total, first.report.read().total);
  ASSERT_EQ(both[1].entries.size(), 2u);
  EXPECT_EQ(both[1].entries[1].name, "merged");
  EXPECT_EQ(both[1].total, both[1].entries[0].value + 0.5 * both[1].entries[1].value);
  EXPECT_NEAR(both[1].entries[0].value, both[0].total, 1e-12);
  EXPECT_TRUE(read_losses({}).empty());
}

}  // namespace
}  // namespace atrous::loss
