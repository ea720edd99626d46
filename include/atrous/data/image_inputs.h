#pragma once
// The images `atrous infer` predicts (infer.input): a comma-separated list, resolved in order, of
//   packs         paths ending in .h5: every sample of the pack, in order (data/pack_reader.h);
//   folders       their .jpg, .jpeg and .png files (any case), sorted by path, not recursive;
//   image files   anything else that is a file (JPEG or PNG, told apart by content when read).
// A sample is predicted on its valid region and its prediction resized back to its size before
// packing; a file at its own size. An entry that is none of these is a UserError naming it; a pack
// that cannot be opened is PackReader's UserError naming the pack.
// Each input has a name that its outputs are named after (eval/image_prediction.h checks that no two
// inputs would write one file): a file's stem (x.jpg: "x"), a sample's name in its pack. An image
// given twice (a file listed again or also inside a listed folder, a pack listed twice: the same
// canonical path) is predicted once: `items` holds each image once, and its size is the count of
// images predicted.
// Masks are painted with mask_palette(): the descriptor's when one is given, else the last pack's,
// else PASCAL VOC's.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "atrous/data/dataset.h"

namespace atrous::data {

// One image to predict: a file, or sample `index` of `dataset`.
struct ImageInput {
  std::string file;                  // the image file; empty for a sample
  std::string name;                  // what its outputs are named after: the file's stem, the sample's name
  const Dataset* dataset = nullptr;  // the sample's dataset, owned by ImageInputs
  int64_t index = 0;
};

struct ImageInputs {
  std::vector<std::unique_ptr<Dataset>> datasets;  // the packs of the list, in order
  std::vector<ImageInput> items;                   // every image, in the order of the list
};

// The entries of a comma-separated `list`; "\," is a comma inside a path ("a\,b.png,c.png" gives
// "a,b.png" and "c.png").
std::vector<std::string> split_input_list(const std::string& list);

// Resolves the comma-separated `list` (split_input_list), reading the names of the packs' samples.
// A UserError names the entry for: a path that is neither an image, a folder nor a pack; a folder
// without images, or holding an image-named link that cannot be followed (a loop); an empty pack.
ImageInputs resolve_image_inputs(const std::string& list);

// The input, for messages: "'photos/x.jpg'", "sample 3 ('2007_000033') of pack 'val.h5'".
std::string describe_input(const ImageInput& input);

// An input as read, ready to predict.
struct InputImage {
  std::string name;                      // the ImageInput's name
  at::Tensor image;                      // [h, w, 3] uint8: the file, or the sample's valid region
  std::array<int64_t, 2> original_hw{};  // where predictions go: the file's size, or the sample's source size
};

// Reads one input: decodes the file, or reads the sample. UserError naming the file or the dataset.
InputImage read_image_input(const ImageInput& input);

// The colours of the masks: the descriptor's (data/dataset_descriptor.h) when descriptor_path is not
// empty, else the palette of the last pack among the inputs, else PASCAL VOC's.
std::vector<std::array<uint8_t, 3>> mask_palette(const ImageInputs& inputs,
                                                 const std::string& descriptor_path);

}  // namespace atrous::data
