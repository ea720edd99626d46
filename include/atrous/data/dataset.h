#pragma once
// Dataset: the samples that training, evaluation and inference read, whatever holds them: an HDF5
// pack on disk (data/pack_reader.h) or tensors in memory (data/in_memory_dataset.h).
//
// A dataset has the shape of a pack (data/pack_format.h): size() samples, all stored at the size
// metadata().height x metadata().width, each with its valid (unpadded) region, its size before
// packing and its name, and the metadata every consumer needs (classes, class names, palette,
// ignore label, mean pixel).
//
// Thread safety: read() may be called from several threads at once (the Loader's reader threads
// do), and every record it returns is the caller's own: changing its tensors changes nothing in the
// dataset. size(), metadata() and description() never change after construction.
// Errors: read() of a sample that cannot be read is a UserError naming description() and the
// sample; an index outside 0..size()-1 is an InternalError.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>

#include "atrous/data/pack_format.h"

namespace atrous::data {

// One sample as stored.
struct PackRecord {
  at::Tensor image;                    // [H, W, 3] uint8 RGB, padded to the dataset's size
  at::Tensor label;                    // [H, W] uint8 class indices, ignore label on padding
  std::array<int32_t, 2> valid_hw{};   // the unpadded region (top-left corner)
  std::array<int32_t, 2> source_hw{};  // the sample's size before packing resized it
  std::string name;                    // the sample's name in its source dataset
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual int64_t size() const = 0;
  virtual const PackMetadata& metadata() const = 0;
  // Sample `index`, 0 <= index < size().
  virtual PackRecord read(int64_t index) const = 0;
  // The name of sample `index` (read(index).name), for whoever needs the names before the samples
  // (`atrous infer` names its outputs with them). This default reads the whole sample; a dataset
  // that can read the name alone overrides it.
  virtual std::string name(int64_t index) const { return read(index).name; }
  // What the dataset is, for messages: "pack 'val.h5'".
  virtual std::string description() const = 0;
};

}  // namespace atrous::data
