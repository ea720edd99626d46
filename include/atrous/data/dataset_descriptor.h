#pragma once
// DatasetDescriptor: what `atrous pack` must know about a dataset beyond its files, read from an
// INI file under datasets/ (voc.ini, cityscapes.ini, ade20k.ini, demo.ini; README there):
//
//   [dataset]
//   name          a short name
//   num_classes   classes, without the ignore label (1..255)
//   class_names   one per class, comma-separated, in index order
//   palette       `voc` (PASCAL VOC's colour map, 256 colours) or "r g b, r g b, ..." (at least one
//                 colour per class): the colours of label masks, for RGB masks and written masks
//   ignore_label  the label no loss or metric counts (boundaries, padding), 0..255
//   mean_rgb      the mean pixel "r,g,b", used to pad images
//   label_map     how label pixel values become class indices: identity (default), minus_one
//                 (0 -> ignore, k -> k - 1: ADE20K), or "from:to, ..." where unlisted values become
//                 the ignore label (Cityscapes' label ids -> train ids)
// A malformed descriptor is a UserError naming the file, the key and what is allowed.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace atrous::data {

struct DatasetDescriptor {
  std::string path;
  std::string name;
  int num_classes = 0;
  std::vector<std::string> class_names;
  std::vector<std::array<uint8_t, 3>> palette;
  int ignore_label = 255;
  std::array<float, 3> mean_rgb{127.5f, 127.5f, 127.5f};
  std::array<uint8_t, 256> label_map{};  // pixel value -> class index or ignore label
  std::string label_map_text = "identity";
};

DatasetDescriptor read_descriptor(const std::string& path);

// PASCAL VOC's colour map: the bits of each index spread over R, G and B (256 colours).
std::vector<std::array<uint8_t, 3>> voc_palette();

}  // namespace atrous::data
