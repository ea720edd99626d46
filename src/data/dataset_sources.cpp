#include "atrous/data/dataset_sources.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "atrous/core/error.h"

namespace atrous::data {
namespace fs = std::filesystem;
namespace {

fs::path existing_folder(const fs::path& path, const std::string& what) {
  if (!fs::is_directory(path))
    throw UserError(
        to_text(what, " '", path.string(), "' is not a folder; check --pack.root and --pack.split"),
        ATROUS_HERE);
  return path;
}

std::vector<std::string> read_lines(const fs::path& path, const std::string& what) {
  std::error_code ignored;  // a list that does not exist is named below, when it cannot be opened
  if (fs::exists(path, ignored) && !fs::is_regular_file(path, ignored))  // /dev/zero, a FIFO: never ends
    throw UserError(to_text(what, " '", path.string(), "' is not a regular file; check --pack.split"),
                    ATROUS_HERE);
  std::ifstream file(path);
  if (!file)
    throw UserError(to_text(what, " '", path.string(), "' cannot be read; check --pack.split"), ATROUS_HERE);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(file, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) throw UserError(to_text(what, " '", path.string(), "' lists no samples"), ATROUS_HERE);
  return lines;
}

// A VOC split list names each sample once: a repeated line would pack the sample twice, under one name.
void refuse_repeated_names(const std::vector<SampleSource>& samples, const fs::path& list) {
  std::set<std::string> seen;
  for (const SampleSource& sample : samples)
    if (!seen.insert(sample.name).second)
      throw UserError(to_text("VOC split list '", list.string(), "' names '", sample.name,
                              "' more than once; remove the repeated line"),
                      ATROUS_HERE);
}

// The VOC2012 folder: the root itself, or VOC2012 / VOCdevkit/VOC2012 under it.
fs::path voc_base(const fs::path& root) {
  fs::path base = root;
  for (const fs::path& candidate : {root / "VOC2012", root / "VOCdevkit" / "VOC2012"})
    if (fs::is_directory(candidate / "JPEGImages")) base = candidate;
  return base;
}

fs::path voc_list(const fs::path& root, const std::string& split) {
  return voc_base(root) / "ImageSets" / "Segmentation" / (split + ".txt");
}

fs::path sample_list(const fs::path& root, const std::string& split) {
  return fs::path(split).is_absolute() ? fs::path(split) : root / split;
}

std::vector<SampleSource> voc(const fs::path& root, const std::string& split) {
  const fs::path base = voc_base(root);
  existing_folder(base / "JPEGImages", "VOC image folder");
  const fs::path labels = base / (split == "train_aug" ? "SegmentationClassAug" : "SegmentationClass");
  existing_folder(labels, "VOC label folder");
  std::vector<SampleSource> samples;
  const fs::path list = voc_list(root, split);
  for (const std::string& name : read_lines(list, "VOC split list"))
    samples.push_back(
        {name, (base / "JPEGImages" / (name + ".jpg")).string(), (labels / (name + ".png")).string()});
  refuse_repeated_names(samples, list);
  return samples;
}

std::vector<SampleSource> cityscapes(const fs::path& root, const std::string& split) {
  const fs::path images = existing_folder(root / "leftImg8bit" / split, "Cityscapes image folder");
  const fs::path labels = existing_folder(root / "gtFine" / split, "Cityscapes label folder");
  const std::string suffix = "_leftImg8bit.png";
  std::vector<SampleSource> samples;
  for (const auto& entry : fs::recursive_directory_iterator(images)) {
    const std::string file = entry.path().filename().string();
    if (!entry.is_regular_file() || file.size() <= suffix.size() ||
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string id = file.substr(0, file.size() - suffix.size());
    const std::string city = entry.path().parent_path().filename().string();
    samples.push_back(
        {city + "/" + id, entry.path().string(), (labels / city / (id + "_gtFine_labelIds.png")).string()});
  }
  return samples;
}

std::vector<SampleSource> ade20k(const fs::path& root, const std::string& split) {
  const std::string folder = split == "train" ? "training" : split == "val" ? "validation" : split;
  const fs::path images = existing_folder(root / "images" / folder, "ADE20K image folder");
  const fs::path labels = existing_folder(root / "annotations" / folder, "ADE20K label folder");
  std::vector<SampleSource> samples;
  for (const auto& entry : fs::directory_iterator(images)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".jpg") continue;
    const std::string stem = entry.path().stem().string();
    samples.push_back({stem, entry.path().string(), (labels / (stem + ".png")).string()});
  }
  return samples;
}

std::vector<SampleSource> list(const fs::path& root, const std::string& split) {
  const fs::path list_path = sample_list(root, split);
  auto resolve = [&](const std::string& path) {
    return fs::path(path).is_absolute() ? path : (root / path).string();
  };
  std::vector<SampleSource> samples;
  std::map<fs::path, int> line_of_image;  // each image once: a repeated one was packed twice
  int line_number = 0;
  for (const std::string& line :
       read_lines(list_path, "sample list (pack.split, inside pack.root unless absolute)")) {
    ++line_number;
    std::istringstream words(line);
    std::string image, label, extra;
    if (!(words >> image >> label) || (words >> extra))
      throw UserError(to_text("sample list '", list_path.string(), "' line ", line_number,
                              " is not `image_path label_path`: '", line, "'"),
                      ATROUS_HERE);
    samples.push_back({fs::path(image).stem().string(), resolve(image), resolve(label)});
    std::error_code error;
    const fs::path canonical = fs::weakly_canonical(samples.back().image_path, error);
    const auto [first, added] =
        line_of_image.emplace(error ? fs::path(samples.back().image_path) : canonical, line_number);
    if (!added)
      throw UserError(
          to_text("sample list '", list_path.string(), "' line ", line_number, " names the image '", image,
                  "' that line ", first->second, " names already; remove the repeated line"),
          ATROUS_HERE);
  }
  return samples;
}

}  // namespace

std::string split_list_file(const std::string& format, const std::string& root, const std::string& split) {
  if (format == "voc") return voc_list(root, split).string();
  if (format == "list") return sample_list(root, split).string();
  return "";
}

const std::vector<std::string>& source_formats() {
  static const std::vector<std::string> formats{"voc", "cityscapes", "ade20k", "list"};
  return formats;
}

std::vector<SampleSource> list_samples(const std::string& format, const std::string& root,
                                       const std::string& split) {
  existing_folder(root, "dataset root");
  std::vector<SampleSource> samples;
  if (format == "voc")
    samples = voc(root, split);
  else if (format == "cityscapes")
    samples = cityscapes(root, split);
  else if (format == "ade20k")
    samples = ade20k(root, split);
  else if (format == "list")
    return list(root, split);
  else
    throw InternalError(to_text("unknown source format '", format, "'"), ATROUS_HERE);
  if (format != "voc")
    std::sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  if (samples.empty())
    throw UserError(to_text("no ", format, " samples found under '", root, "' for split '", split, "'"),
                    ATROUS_HERE);
  return samples;
}

}  // namespace atrous::data
