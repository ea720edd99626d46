#pragma once
// The atrous pack: one HDF5 file per dataset split, readable by h5py and h5dump.
//
//   /images     uint8 [N, H, W, 3]  RGB, one sample per chunk (optionally gzip)
//   /labels     uint8 [N, H, W]     class indices, ignore_label on boundaries and padding
//   /valid_hw   int32 [N, 2]        the unpadded region of each sample (top-left corner)
//   /source_hw  int32 [N, 2]        each sample's size before resizing
//   /names      string [N]          each sample's name in its source dataset (UTF-8, variable length;
//                                   fixed-length strings are read too)
// Root attributes: format = "atrous-pack", version = 1, num_classes, ignore_label, class_names,
// palette (uint8 [K, 3]), mean_rgb (float32 [3]), interpolation, resize_policy, source_format,
// split.
// Every sample has the same H x W: packing resizes (longer side S) and/or pads to it.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace atrous::data {

inline constexpr const char* pack_format_name = "atrous-pack";
inline constexpr int pack_format_version = 1;

struct PackMetadata {
  int64_t height = 0, width = 0;  // every sample's stored size
  int num_classes = 0;
  int ignore_label = 255;
  std::vector<std::string> class_names;
  std::vector<std::array<uint8_t, 3>> palette;
  std::array<float, 3> mean_rgb{};
  std::string interpolation = "image bilinear (align corners), label nearest";
  std::string resize_policy;  // "longer side 513, padded to 513 x 513" or "padded to the largest image"
  std::string source_format;  // voc, cityscapes, ade20k, list
  std::string split;
};

}  // namespace atrous::data
