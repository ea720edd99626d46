#include "atrous/data/augmentation.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/data/resize.h"

namespace atrous::data {
namespace {

double draw_scale(const AugmentOptions& options, CounterRng& rng) {
  if (options.min_scale == options.max_scale) return options.min_scale;
  if (options.scale_step == 0)
    return options.min_scale + (options.max_scale - options.min_scale) * rng.uniform();
  const int64_t steps =
      static_cast<int64_t>(std::floor((options.max_scale - options.min_scale) / options.scale_step + 1e-9)) +
      1;
  return options.min_scale +
         options.scale_step * static_cast<double>(rng.below(static_cast<uint64_t>(steps)));
}

at::Tensor mean_pixel(const std::array<float, 3>& mean_rgb) {
  return at::tensor({mean_rgb[0], mean_rgb[1], mean_rgb[2]}, at::kFloat).view({3, 1, 1});
}

// Pads [3, H, W] / [H, W] at the bottom and right to at least height x width.
Sample pad_to(const Sample& sample, int64_t height, int64_t width, const std::array<float, 3>& mean_rgb,
              int ignore_label) {
  const int64_t h = sample.label.size(0), w = sample.label.size(1);
  if (h >= height && w >= width) return sample;
  const int64_t out_h = std::max(h, height), out_w = std::max(w, width);
  Sample padded{mean_pixel(mean_rgb).expand({3, out_h, out_w}).clone(),
                at::full({out_h, out_w}, ignore_label, at::kByte)};
  padded.image.narrow(1, 0, h).narrow(2, 0, w).copy_(sample.image);
  padded.label.narrow(0, 0, h).narrow(1, 0, w).copy_(sample.label);
  return padded;
}

Sample as_sample(const at::Tensor& image, const at::Tensor& label) {
  ATROUS_ASSERT(image.dim() == 3 && image.size(2) == 3 && label.dim() == 2 &&
                    image.size(0) == label.size(0) && image.size(1) == label.size(1),
                "image [H, W, 3] and label [H, W] expected, got ", image.sizes(), " and ", label.sizes());
  return {image.permute({2, 0, 1}).to(at::kFloat).contiguous(), label};
}

}  // namespace

void AugmentOptions::declare(OptionTable& table, AugmentOptions& options) {
  table.add("data.crop_size", &options.crop_size, 513, "training crop (square), in pixels",
            "an integer from 1 to 8192");
  table.add("data.min_scale", &options.min_scale, 0.5, "smallest random scale", "a number in (0, 16]");
  table.add("data.max_scale", &options.max_scale, 2.0, "largest random scale",
            "a number from data.min_scale to 16");
  table.add("data.scale_step", &options.scale_step, 0.25,
            "step between random scales; 0 draws them continuously", "a number in [0, 16]");
  table.add("data.flip", &options.flip, true, "random left-right flips", "true or false");
}

std::string oversized_crop_warning(const AugmentOptions& options, int64_t height, int64_t width) {
  const auto largest_height = int64_t(std::ceil(double(height) * options.max_scale));
  const auto largest_width = int64_t(std::ceil(double(width) * options.max_scale));
  if (options.crop_size <= largest_height || options.crop_size <= largest_width) return "";
  return to_text("data.crop_size ", options.crop_size, " is larger than every sample even at data.max_scale ",
                 options.max_scale, " (", largest_height, " x ", largest_width, " from the pack's ", height,
                 " x ", width,
                 "): each crop is mostly padding, computed for nothing; set data.crop_size to at most ",
                 std::max(largest_height, largest_width), ", e.g. the pack's ", std::max(height, width));
}

void AugmentOptions::validate() const {
  // Past 8192 a crop is a typing mistake: one such sample's feature maps no longer fit in memory.
  ATROUS_CHECK_OPTION(crop_size >= 1 && crop_size <= 8192, "data.crop_size", crop_size,
                      "an integer from 1 to 8192");
  // Scales beyond 16 are typing mistakes: a sample scaled so far no longer fits in memory.
  ATROUS_CHECK_OPTION(min_scale > 0 && min_scale <= 16, "data.min_scale", min_scale, "a number in (0, 16]");
  ATROUS_CHECK_OPTION(max_scale >= min_scale && max_scale <= 16, "data.max_scale", max_scale,
                      "a number from data.min_scale to 16");
  ATROUS_CHECK_OPTION(scale_step >= 0 && scale_step <= 16, "data.scale_step", scale_step,
                      "a number in [0, 16]");
}

AugmentDecision draw_augmentation(const AugmentOptions& options, int64_t height, int64_t width,
                                  CounterRng& rng) {
  AugmentDecision decision;
  decision.scale = draw_scale(options, rng);
  const int64_t scaled_h =
      static_cast<int64_t>(static_cast<float>(height) * static_cast<float>(decision.scale));
  const int64_t scaled_w =
      static_cast<int64_t>(static_cast<float>(width) * static_cast<float>(decision.scale));
  const int64_t crop = options.crop_size;
  decision.top = static_cast<int64_t>(rng.below(static_cast<uint64_t>(std::max(scaled_h, crop) - crop + 1)));
  decision.left = static_cast<int64_t>(rng.below(static_cast<uint64_t>(std::max(scaled_w, crop) - crop + 1)));
  decision.flip = options.flip && rng.uniform() < 0.5f;
  return decision;
}

Sample augment_for_training(const at::Tensor& image, const at::Tensor& label, const AugmentOptions& options,
                            const std::array<float, 3>& mean_rgb, int ignore_label, CounterRng& rng) {
  Sample sample = as_sample(image, label);
  const int64_t height = label.size(0), width = label.size(1), crop = options.crop_size;
  const AugmentDecision decision = draw_augmentation(options, height, width, rng);
  const int64_t scaled_h =
      static_cast<int64_t>(static_cast<float>(height) * static_cast<float>(decision.scale));
  const int64_t scaled_w =
      static_cast<int64_t>(static_cast<float>(width) * static_cast<float>(decision.scale));
  ATROUS_CHECK(scaled_h >= 1 && scaled_w >= 1, "a ", height, "x", width, " sample scaled by ", decision.scale,
               " has no pixels left; raise data.min_scale");
  sample = {resize_image_bilinear(sample.image, scaled_h, scaled_w),
            resize_labels_nearest(sample.label, scaled_h, scaled_w)};
  sample = pad_to(sample, crop, crop, mean_rgb, ignore_label);
  sample = {sample.image.narrow(1, decision.top, crop).narrow(2, decision.left, crop),
            sample.label.narrow(0, decision.top, crop).narrow(1, decision.left, crop)};
  if (decision.flip) sample = {sample.image.flip({2}), sample.label.flip({1})};
  return {sample.image.contiguous(), sample.label.contiguous()};
}

Sample pad_for_evaluation(const at::Tensor& image, const at::Tensor& label, int64_t crop,
                          const std::array<float, 3>& mean_rgb, int ignore_label) {
  Sample sample = pad_to(as_sample(image, label), crop, crop, mean_rgb, ignore_label);
  return {sample.image.contiguous(), sample.label.contiguous()};
}

}  // namespace atrous::data
