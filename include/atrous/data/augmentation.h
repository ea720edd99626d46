#pragma once
// Training augmentation and evaluation padding, exactly as TF DeepLab's input preprocessing:
//   1. a random scale s from {min, min + step, ..., max} (step 0: uniform in [min, max]); the image
//      becomes int(H s) x int(W s) by bilinear resizing (aligned corners), the label by nearest
//      neighbour (data/resize.h);
//   2. padding at the bottom and right up to the crop, the image with the mean pixel, the label with
//      the ignore label;
//   3. a random crop of the crop size;
//   4. a left-right flip with probability 1/2.
// Evaluation only pads. Every random decision comes from the sample's own CounterRng stream
// (seed, epoch, sample index), so a sample is augmented identically on any number of ranks and after
// a resume.

#include <ATen/core/Tensor.h>

#include <array>
#include <string>

#include "atrous/core/counter_rng.h"

namespace atrous {
class OptionTable;
}

namespace atrous::data {

struct AugmentOptions {
  int crop_size = 513;       // data.crop_size: square crops, as DeepLab trains
  double min_scale = 0.5;    // data.min_scale
  double max_scale = 2.0;    // data.max_scale
  double scale_step = 0.25;  // data.scale_step: 0 draws scales continuously
  bool flip = true;          // data.flip

  static void declare(OptionTable& table, AugmentOptions& options);
  void validate() const;
};

// When data.crop_size exceeds both sides of the largest scaled sample (data.max_scale x the pack's
// height and width), every training crop is mostly padding, computed for nothing (the default 513 on
// a 65-pixel pack ran 34x slower than a crop of 65): the warning that says so and what to set; ""
// when the crop fits.
std::string oversized_crop_warning(const AugmentOptions& options, int64_t height, int64_t width);

struct Sample {
  at::Tensor image;  // [3, H, W] float32, RGB in 0..255
  at::Tensor label;  // [H, W] uint8
};

// The random decisions for one sample of height x width.
struct AugmentDecision {
  double scale = 1;
  int64_t top = 0, left = 0;  // crop offset in the scaled and padded sample
  bool flip = false;
};

AugmentDecision draw_augmentation(const AugmentOptions& options, int64_t height, int64_t width,
                                  CounterRng& rng);

// image: [H, W, 3] uint8 RGB; label: [H, W] uint8. mean_rgb pads the image; ignore_label the label.
Sample augment_for_training(const at::Tensor& image, const at::Tensor& label, const AugmentOptions& options,
                            const std::array<float, 3>& mean_rgb, int ignore_label, CounterRng& rng);

// Pads at the bottom and right to at least crop x crop; nothing random.
Sample pad_for_evaluation(const at::Tensor& image, const at::Tensor& label, int64_t crop,
                          const std::array<float, 3>& mean_rgb, int ignore_label);

}  // namespace atrous::data
