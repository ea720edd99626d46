#include "atrous/data/image_inputs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "atrous/core/error.h"
#include "atrous/data/dataset_descriptor.h"
#include "atrous/data/image_io.h"
#include "atrous/data/pack_reader.h"

namespace atrous::data {
namespace {

namespace fs = std::filesystem;

bool has_image_extension(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

// The images already listed, by canonical path (packs and files), so that each is listed once.
using Seen = std::set<fs::path>;

void add_file(const fs::path& file, ImageInputs& inputs, Seen& seen) {
  if (seen.insert(fs::weakly_canonical(file)).second)
    inputs.items.push_back({file.string(), file.stem().string(), nullptr, 0});
}

void add_folder(const std::string& folder, ImageInputs& inputs, Seen& seen) {
  std::vector<fs::path> files;
  std::error_code error;
  for (fs::directory_iterator entry(folder, error), end; !error && entry != end; entry.increment(error)) {
    if (!has_image_extension(entry->path())) continue;
    const bool regular = entry->is_regular_file(error);
    if (error)  // a link that leads nowhere, or in a loop
      throw UserError(to_text("infer input folder '", folder, "': '", entry->path().string(),
                              "' cannot be followed (", error.message(), "); remove it or fix the link"),
                      ATROUS_HERE);
    if (regular) files.push_back(entry->path());
  }
  if (error)
    throw UserError(to_text("infer input folder '", folder, "' cannot be read: ", error.message()),
                    ATROUS_HERE);
  if (files.empty())
    throw UserError(
        to_text("infer input folder '", folder,
                "' holds no image (.jpg, .jpeg or .png); give a folder of images, images or packs"),
        ATROUS_HERE);
  std::sort(files.begin(), files.end());
  for (const auto& file : files) add_file(file, inputs, seen);
}

void add_pack(const std::string& path, ImageInputs& inputs, Seen& seen) {
  auto pack = std::make_unique<PackReader>(path);
  if (pack->size() == 0)
    throw UserError(
        to_text("infer input pack '", path, "' holds no samples; pack images into it (atrous pack)"),
        ATROUS_HERE);
  if (!seen.insert(fs::weakly_canonical(path)).second) return;
  for (int64_t i = 0; i < pack->size(); ++i) inputs.items.push_back({"", pack->name(i), pack.get(), i});
  inputs.datasets.push_back(std::move(pack));
}

}  // namespace

std::vector<std::string> split_input_list(const std::string& list) {
  std::vector<std::string> entries(1);
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == '\\' && i + 1 < list.size() && list[i + 1] == ',')
      entries.back() += list[++i];
    else if (list[i] == ',')
      entries.emplace_back();
    else
      entries.back() += list[i];
  }
  return entries;
}

ImageInputs resolve_image_inputs(const std::string& list) {
  ImageInputs inputs;
  Seen seen;
  for (const std::string& path : split_input_list(list)) {
    if (fs::is_directory(path))
      add_folder(path, inputs, seen);
    else if (fs::path(path).extension() == ".h5")
      add_pack(path, inputs, seen);
    else if (fs::is_regular_file(path))
      add_file(path, inputs, seen);
    else
      throw UserError(to_text("infer input '", path, "' is not an image, a folder or a pack"), ATROUS_HERE);
  }
  return inputs;
}

std::string describe_input(const ImageInput& input) {
  if (input.dataset == nullptr) return "'" + input.file + "'";
  return to_text("sample ", input.index, " ('", input.name, "') of ", input.dataset->description());
}

InputImage read_image_input(const ImageInput& input) {
  if (input.dataset == nullptr) {
    at::Tensor image = read_rgb_image(input.file);
    return {input.name, image, {image.size(0), image.size(1)}};
  }
  const PackRecord record = input.dataset->read(input.index);
  return {input.name,
          record.image.slice(0, 0, record.valid_hw[0]).slice(1, 0, record.valid_hw[1]),
          {record.source_hw[0], record.source_hw[1]}};
}

std::vector<std::array<uint8_t, 3>> mask_palette(const ImageInputs& inputs,
                                                 const std::string& descriptor_path) {
  if (!descriptor_path.empty()) return read_descriptor(descriptor_path).palette;
  if (!inputs.datasets.empty()) return inputs.datasets.back()->metadata().palette;
  return voc_palette();
}

}  // namespace atrous::data
