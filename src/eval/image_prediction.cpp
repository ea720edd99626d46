#include "atrous/eval/image_prediction.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>

#include "atrous/data/image_io.h"
#include "atrous/eval/colour_masks.h"
#include "atrous/model/multi_scale.h"

namespace atrous::eval {

ImagePrediction predict_image(Predictor& predictor, const data::InputImage& input, const c10::Device& device,
                              bool with_logits) {
  const auto [height, width] = input.original_hw;
  const at::Tensor pixels = input.image.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat);
  const at::Tensor images = pixels.to(device);
  ImagePrediction prediction;
  prediction.mask = predictor.probabilities(images, height, width).argmax(1)[0].to(at::kByte).cpu();
  prediction.image =
      model::resize_bilinear_aligned(pixels, height, width)[0].permute({1, 2, 0}).round().clamp(0, 255).to(
          at::kByte);
  if (with_logits) prediction.logits = predictor.logits(images, height, width)[0].to(at::kFloat).cpu();
  return prediction;
}

void write_mask_images(const std::string& folder, const std::string& name, const ImagePrediction& prediction,
                       const std::vector<std::array<uint8_t, 3>>& palette) {
  std::string file_name = name;
  std::replace(file_name.begin(), file_name.end(), '/', '_');
  const std::filesystem::path stem = std::filesystem::path(folder) / file_name;
  data::write_palette_png(stem.string() + ".png", prediction.mask, palette);
  data::write_rgb_png(stem.string() + "_overlay.png",
                      overlay(prediction.image, colourise(prediction.mask, palette)));
}

}  // namespace atrous::eval
