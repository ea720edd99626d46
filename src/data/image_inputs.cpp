#include "atrous/data/image_inputs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <sstream>

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

ImageInput file_input(const fs::path& file) {
  return {file.string(), file.stem().string(), nullptr, 0};
}

void add_folder(const std::string& folder, ImageInputs& inputs) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.is_regular_file() && has_image_extension(entry.path())) files.push_back(entry.path());
  if (files.empty())
    throw UserError(
        to_text("infer input folder '", folder,
                "' holds no image (.jpg, .jpeg or .png); give a folder of images, images or packs"),
        ATROUS_HERE);
  std::sort(files.begin(), files.end());
  for (const auto& file : files) inputs.items.push_back(file_input(file));
}

// Each image's outputs are named after its file's stem: two files of one stem would overwrite each
// other's (one file given twice writes the same outputs twice).
void check_distinct_names(const ImageInputs& inputs) {
  std::map<std::string, std::string> file_of_name;
  for (const ImageInput& item : inputs.items) {
    if (item.dataset != nullptr) continue;
    const auto [entry, added] = file_of_name.emplace(item.name, item.file);
    if (!added && fs::weakly_canonical(entry->second) != fs::weakly_canonical(item.file))
      throw UserError(
          to_text("infer inputs '", entry->second, "' and '", item.file, "' would both write outputs named '",
                  item.name, "'; rename one or infer them separately"),
          ATROUS_HERE);
  }
}

void add_pack(const std::string& path, ImageInputs& inputs) {
  inputs.datasets.push_back(std::make_unique<PackReader>(path));
  const Dataset* pack = inputs.datasets.back().get();
  if (pack->size() == 0)
    throw UserError(
        to_text("infer input pack '", path, "' holds no samples; pack images into it (atrous pack)"),
        ATROUS_HERE);
  for (int64_t i = 0; i < pack->size(); ++i) inputs.items.push_back({"", "", pack, i});
}

}  // namespace

ImageInputs resolve_image_inputs(const std::string& list) {
  ImageInputs inputs;
  std::stringstream entries(list);
  std::string path;
  while (std::getline(entries, path, ',')) {
    if (fs::is_directory(path))
      add_folder(path, inputs);
    else if (fs::path(path).extension() == ".h5")
      add_pack(path, inputs);
    else if (fs::is_regular_file(path))
      inputs.items.push_back(file_input(path));
    else
      throw UserError(to_text("infer input '", path, "' is not an image, a folder or a pack"), ATROUS_HERE);
  }
  check_distinct_names(inputs);
  return inputs;
}

InputImage read_image_input(const ImageInput& input) {
  if (input.dataset == nullptr) {
    at::Tensor image = read_rgb_image(input.file);
    return {input.name, image, {image.size(0), image.size(1)}};
  }
  const PackRecord record = input.dataset->read(input.index);
  return {record.name,
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
