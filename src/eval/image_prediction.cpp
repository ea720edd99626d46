#include "atrous/eval/image_prediction.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "atrous/core/error.h"
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

std::array<std::string, 2> mask_file_names(const std::string& name) {
  std::string stem = name;
  std::replace(stem.begin(), stem.end(), '/', '_');
  return {stem + ".png", stem + "_overlay.png"};
}

namespace {

// A name the file system takes, checked before any output is written (it failed mid-run, after the
// earlier images' masks were written).
void check_mask_file_name(const data::ImageInput& input, const std::string& file) {
  constexpr size_t longest_file_name = 255;  // NAME_MAX of Linux's file systems
  if (input.name.empty())
    throw UserError(to_text("infer input ", data::describe_input(input),
                            " has an empty name: its mask would be the hidden file '.png'; name the sample"),
                    ATROUS_HERE);
  if (file.size() > longest_file_name)
    throw UserError(
        to_text("infer input ", data::describe_input(input), ": its mask's file name would be ", file.size(),
                " bytes, more than the ", longest_file_name, " a file name may have; give it a shorter name"),
        ATROUS_HERE);
}

}  // namespace

void check_distinct_outputs(const data::ImageInputs& inputs, const std::string& folder) {
  namespace fs = std::filesystem;
  // A file by its folder's canonical path and its own name (a link is the file it names here).
  const auto canonical = [](const fs::path& path) {
    return fs::weakly_canonical(fs::absolute(path.empty() ? fs::path(".") : path));
  };
  const auto where = [&](const fs::path& file) { return canonical(file.parent_path()) / file.filename(); };
  std::map<fs::path, const data::ImageInput*> input_at;
  for (const data::ImageInput& input : inputs.items)
    if (input.dataset == nullptr) input_at.emplace(where(input.file), &input);
  const fs::path out = canonical(folder);
  std::map<std::string, const data::ImageInput*> writer_of;  // output file -> the input that writes it
  for (const data::ImageInput& input : inputs.items)
    for (const std::string& file : mask_file_names(input.name)) {
      check_mask_file_name(input, file);
      const auto [entry, added] = writer_of.emplace(file, &input);
      if (!added)
        throw UserError(to_text("infer inputs ", data::describe_input(*entry->second), " and ",
                                data::describe_input(input), " would both write '", file,
                                "' in infer.out; rename one, or infer them separately into different "
                                "infer.out folders"),
                        ATROUS_HERE);
      const auto replaced = input_at.find(out / file);
      if (replaced != input_at.end())
        throw UserError(
            to_text("infer input ", data::describe_input(*replaced->second), " would be replaced by '", file,
                    "', written for ", data::describe_input(input), " into infer.out '", folder,
                    "'; give infer.out a folder of its own"),
            ATROUS_HERE);
    }
}

void write_mask_images(const std::string& folder, const std::string& name, const ImagePrediction& prediction,
                       const std::vector<std::array<uint8_t, 3>>& palette) {
  const auto [mask_file, overlay_file] = mask_file_names(name);
  const std::filesystem::path out(folder);
  data::write_palette_png((out / mask_file).string(), prediction.mask, palette);
  data::write_rgb_png((out / overlay_file).string(),
                      overlay(prediction.image, colourise(prediction.mask, palette)));
}

}  // namespace atrous::eval
