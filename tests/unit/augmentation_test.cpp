#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "atrous/core/error.h"
#include "atrous/data/augmentation.h"
#include "atrous/data/resize.h"

namespace atrous::data {
namespace {

const std::array<float, 3> mean_rgb = {123.0f, 117.0f, 104.0f};

struct Pair {
  at::Tensor image, label;
};

Pair random_pair(int64_t h, int64_t w, uint64_t seed) {
  at::manual_seed(seed);
  Pair pair{at::randint(0, 256, {h, w, 3}, at::kLong).to(at::kByte),
            at::randint(0, 5, {h, w}, at::kLong).to(at::kByte)};
  pair.label.narrow(0, 0, 2).fill_(255);  // a boundary
  return pair;
}

AugmentOptions crop(int size) {
  AugmentOptions options;
  options.crop_size = size;
  return options;
}

TEST(Augmentation, ScalesComeFromTheConfiguredSetOnly) {
  std::set<double> seen;
  for (uint64_t index = 0; index < 500; ++index) {
    CounterRng rng(1, 0, index);
    seen.insert(draw_augmentation(crop(33), 40, 50, rng).scale);
  }
  EXPECT_EQ(seen, (std::set<double>{0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0}));
  AugmentOptions continuous = crop(33);
  continuous.scale_step = 0;
  CounterRng rng(1, 0, 0);
  const double scale = draw_augmentation(continuous, 40, 50, rng).scale;
  EXPECT_GE(scale, 0.5);
  EXPECT_LE(scale, 2.0);
  EXPECT_EQ(seen.count(scale), 0u);
}

TEST(Augmentation, SameSampleKeySameResultWhateverWasDrawnBefore) {
  Pair pair = random_pair(37, 29, 3);
  CounterRng first(9, 2, 41);
  Sample a = augment_for_training(pair.image, pair.label, crop(33), mean_rgb, 255, first);
  CounterRng unrelated(9, 2, 40);
  augment_for_training(pair.image, pair.label, crop(33), mean_rgb, 255, unrelated);
  CounterRng again(9, 2, 41);
  Sample b = augment_for_training(pair.image, pair.label, crop(33), mean_rgb, 255, again);
  EXPECT_TRUE(a.image.equal(b.image));
  EXPECT_TRUE(a.label.equal(b.label));
  EXPECT_EQ(a.image.sizes(), (at::IntArrayRef{3, 33, 33}));
  EXPECT_EQ(a.label.sizes(), (at::IntArrayRef{33, 33}));
}

TEST(Augmentation, LabelsKeepOnlyOriginalValuesAndPaddingIsTheIgnoreLabel) {
  Pair pair = random_pair(21, 17, 4);
  for (uint64_t index = 0; index < 50; ++index) {
    CounterRng rng(5, 1, index);
    Sample sample = augment_for_training(pair.image, pair.label, crop(33), mean_rgb, 255, rng);
    at::Tensor values = std::get<0>(at::_unique(sample.label));
    for (int64_t i = 0; i < values.numel(); ++i) {
      const int value = values[i].item<int>();
      EXPECT_TRUE(value < 5 || value == 255) << value;
    }
  }
}

TEST(Augmentation, ReproducesTheDecisionByHand) {
  Pair pair = random_pair(30, 26, 6);
  const AugmentOptions options = crop(25);
  for (uint64_t index = 0; index < 20; ++index) {
    CounterRng decide(8, 3, index);
    const AugmentDecision d = draw_augmentation(options, 30, 26, decide);
    const int64_t h = static_cast<int64_t>(30.0f * static_cast<float>(d.scale));
    const int64_t w = static_cast<int64_t>(26.0f * static_cast<float>(d.scale));
    // Scale, pad with the mean pixel and 255, crop, flip: step by step.
    at::Tensor image = resize_image_bilinear(pair.image.permute({2, 0, 1}).to(at::kFloat), h, w);
    at::Tensor label = resize_labels_nearest(pair.label, h, w);
    const int64_t ph = std::max<int64_t>(h, 25), pw = std::max<int64_t>(w, 25);
    at::Tensor padded_image = at::empty({3, ph, pw});
    for (int c = 0; c < 3; ++c) padded_image[c].fill_(mean_rgb[c]);
    padded_image.narrow(1, 0, h).narrow(2, 0, w).copy_(image);
    at::Tensor padded_label = at::full({ph, pw}, 255, at::kByte);
    padded_label.narrow(0, 0, h).narrow(1, 0, w).copy_(label);
    at::Tensor expected_image = padded_image.narrow(1, d.top, 25).narrow(2, d.left, 25);
    at::Tensor expected_label = padded_label.narrow(0, d.top, 25).narrow(1, d.left, 25);
    if (d.flip) expected_image = expected_image.flip({2}), expected_label = expected_label.flip({1});

    CounterRng rng(8, 3, index);
    Sample sample = augment_for_training(pair.image, pair.label, options, mean_rgb, 255, rng);
    // Within rounding: the resize kernel sums in another order for another memory layout.
    EXPECT_LE((sample.image - expected_image).abs().max().item<double>(), 1e-4) << "index " << index;
    EXPECT_TRUE(sample.label.equal(expected_label)) << "index " << index;
  }
}

TEST(Augmentation, FlipsAboutHalfTheSamples) {
  int flips = 0;
  for (uint64_t index = 0; index < 2000; ++index) {
    CounterRng rng(2, 0, index);
    flips += draw_augmentation(crop(9), 10, 10, rng).flip;
  }
  EXPECT_NEAR(flips, 1000, 100);
  AugmentOptions no_flip = crop(9);
  no_flip.flip = false;
  CounterRng rng(2, 0, 0);
  EXPECT_FALSE(draw_augmentation(no_flip, 10, 10, rng).flip);
}

TEST(Augmentation, EvaluationOnlyPads) {
  Pair pair = random_pair(7, 5, 7);
  Sample sample = pad_for_evaluation(pair.image, pair.label, 9, mean_rgb, 255);
  EXPECT_TRUE(
      sample.image.narrow(1, 0, 7).narrow(2, 0, 5).equal(pair.image.permute({2, 0, 1}).to(at::kFloat)));
  EXPECT_TRUE(sample.label.narrow(0, 0, 7).narrow(1, 0, 5).equal(pair.label));
  EXPECT_TRUE(sample.label.narrow(0, 7, 2).eq(255).all().item<bool>());
  EXPECT_TRUE(sample.label.narrow(1, 5, 4).eq(255).all().item<bool>());
  EXPECT_TRUE(sample.image[1].narrow(0, 7, 2).eq(117.0f).all().item<bool>());
}

TEST(Resize, ImagesBilinearWithAlignedCorners) {
  at::Tensor image = at::tensor({0.0f, 4.0f, 8.0f, 12.0f}).view({1, 2, 2});
  at::Tensor resized = resize_image_bilinear(image, 3, 3);
  EXPECT_TRUE(
      resized.equal(at::tensor({0.0f, 2.0f, 4.0f, 4.0f, 6.0f, 8.0f, 8.0f, 10.0f, 12.0f}).view({1, 3, 3})))
      << resized;
}

TEST(Augmentation, OptionsAreValidatedByName) {
  AugmentOptions options;
  options.min_scale = 0;
  EXPECT_THROW(options.validate(), OptionError);
  options = AugmentOptions{};
  options.max_scale = 0.25;
  EXPECT_THROW(options.validate(), OptionError);
  options = AugmentOptions{};
  options.crop_size = 0;
  EXPECT_THROW(options.validate(), OptionError);
  options.crop_size = 100000;  // a raw allocator error at the first batch before it was refused here
  EXPECT_THROW(options.validate(), OptionError);
  const double infinity = std::numeric_limits<double>::infinity();
  for (double scale : {infinity, 16.5, std::nan("")}) {
    options = AugmentOptions{};
    options.max_scale = scale;
    EXPECT_THROW(options.validate(), OptionError) << scale;
    options.min_scale = scale;
    EXPECT_THROW(options.validate(), OptionError) << scale;
    options = AugmentOptions{};
    options.scale_step = scale;
    EXPECT_THROW(options.validate(), OptionError) << scale;
  }
  options = AugmentOptions{};
  options.min_scale = options.max_scale = 16;
  options.validate();
}

// The default crop of 513 on a 65-pixel pack ran 34x slower, silently.
TEST(Augmentation, ACropLargerThanEveryScaledSampleIsNamed) {
  AugmentOptions options;  // crop 513, max_scale 2
  EXPECT_EQ(
      oversized_crop_warning(options, 65, 65),
      "data.crop_size 513 is larger than every sample even at data.max_scale 2 (130 x 130 from the pack's "
      "65 x 65): each crop is mostly padding, computed for nothing; set data.crop_size to at most 130, e.g. "
      "the pack's 65");
  EXPECT_EQ(oversized_crop_warning(options, 257, 100), "")
      << "one side reaches the crop at the largest scale";
  options.crop_size = 97;
  EXPECT_EQ(oversized_crop_warning(options, 65, 65), "");
  options.max_scale = 1;
  EXPECT_NE(oversized_crop_warning(options, 65, 65), "");
}

}  // namespace
}  // namespace atrous::data
