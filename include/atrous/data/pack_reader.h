#pragma once
// PackReader: an atrous pack (data/pack_format.h) as a Dataset (data/dataset.h), read-only.
//
// The file is opened through data/self_contained_hdf5.h: a dataset that is a link or whose storage
// lies in another file is refused, so a pack makes atrous read nothing but itself. No sample may
// declare more pixels, stored (H x W) or at its source (/source_hw), than pack.max_pixels' default
// (data/image_io.h): checked from the pack's metadata when it is opened, before anything is allocated.
// Opening checks what a training run would otherwise trip over much later: that the file is HDF5,
// says it is an atrous pack of a version this build reads, and that every dataset and attribute has
// the element type and shape of the layout (uint8 images and labels, never converted on read), with
// one row per sample everywhere and every valid region inside the stored size. A truncated, foreign or
// damaged file is a UserError naming the file and what is wrong, never a crash. A sample whose chunk fails
// its Fletcher32 checksum (packs written with pack.checksums, the default) is a UserError naming the file and
// the sample as corrupted, when it is read; packs written without checksums are read as they are. read() may
// be called from several threads, as Dataset promises: HDF5 as Debian builds it is not thread-safe, so calls
// are serialised.

#include <ATen/core/Tensor.h>

#include <mutex>
#include <string>

#include "atrous/data/dataset.h"
#include "atrous/data/hdf5_handle.h"
#include "atrous/data/pack_format.h"

namespace atrous::data {

class PackReader : public Dataset {
 public:
  explicit PackReader(const std::string& path);

  const std::string& path() const { return path_; }
  const PackMetadata& metadata() const override { return metadata_; }
  int64_t size() const override { return size_; }
  PackRecord read(int64_t index) const override;
  // Reads /names alone.
  std::string name(int64_t index) const override;
  // "pack '<path>'"
  std::string description() const override;

 private:
  void check_layout();
  void check_sizes();
  std::string read_name(int64_t index) const;

  std::string path_;
  PackMetadata metadata_;
  int64_t size_ = 0;
  size_t names_fixed_bytes_ = 0;  // 0: /names holds variable-length strings
  Hdf5Handle file_, images_, labels_, valid_hw_, source_hw_, names_;
  mutable std::mutex mutex_;
};

}  // namespace atrous::data
