#include "atrous/data/image_inputs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
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
  std::sort(files.begin(), files.end());
  for (const auto& file : files) inputs.items.push_back(file_input(file));
}

void add_pack(const std::string& path, ImageInputs& inputs) {
  inputs.datasets.push_back(std::make_unique<PackReader>(path));
  const Dataset* pack = inputs.datasets.back().get();
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
