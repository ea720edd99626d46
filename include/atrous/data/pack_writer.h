#pragma once
// PackWriter: writes an atrous pack (data/pack_format.h) sample by sample.
//
// The file is an OutputFile (core/output_file.h, data/hdf5_output.h): written under a temporary
// name next to the target, created exclusively and locked, and only commit() makes it appear at
// `path` (fsync, then rename): a pack that fails or is interrupted never leaves a file at `path`, and
// destroying the writer without commit() removes the temporary. Temporaries in the folder whose
// writer is gone (killed: nobody holds their lock, unmodified for a minute) are removed when a
// writer starts; a live pack's, from any host or PID namespace sharing the folder, never are.
// With checksums (pack.checksums, the default) every chunk of /images, /labels, /valid_hw and
// /source_hw carries HDF5's Fletcher32 checksum (after compression): a sample whose stored bytes
// changed is refused when it is read (data/pack_reader.h), never trained on.

#include <ATen/core/Tensor.h>

#include <array>
#include <string>

#include "atrous/core/output_file.h"
#include "atrous/data/hdf5_handle.h"
#include "atrous/data/pack_format.h"

namespace atrous {
class LibraryError;
}

namespace atrous::data {

class PackWriter {
 public:
  // compress: 0 for none, or a gzip level 1..9.
  PackWriter(std::string path, PackMetadata metadata, int compress, bool checksums = true);
  ~PackWriter();
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // image: [H, W, 3] uint8 RGB and label: [H, W] uint8, both of the pack's size.
  void append(const std::string& name, const at::Tensor& image, const at::Tensor& label,
              std::array<int32_t, 2> valid_hw, std::array<int32_t, 2> source_hw);
  // Writes the attributes, closes and syncs the file, and renames it to `path`.
  void commit();
  int64_t size() const { return count_; }
  const std::string& temporary_path() const { return output_.temporary_path(); }

 private:
  void append_sample(const std::string& name, const at::Tensor& image_data, const at::Tensor& label_data,
                     std::array<int32_t, 2> valid_hw, std::array<int32_t, 2> source_hw);
  void append_row(const Hdf5Handle& dataset, hid_t type, const void* data, std::vector<hsize_t> row_dims);
  void write_attributes();
  // A failed write (a full disk: ENOSPC, EFBIG) as a UserError naming the pack and what to check.
  [[noreturn]] void throw_write_error(const LibraryError& error) const;

  std::string path_;
  PackMetadata metadata_;
  OutputFile output_;  // before the handles: destroyed after them
  Hdf5Handle file_, images_, labels_, valid_hw_, source_hw_, names_;
  int64_t count_ = 0;
  bool committed_ = false;
};

}  // namespace atrous::data
