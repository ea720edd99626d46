#pragma once
// Small packs that MPI tests write for themselves and read back (data/pack_reader.h): the metadata
// of a three-class pack, and a file name in the temporary folder (one per process) that is removed
// when the test leaves its scope, failed assertions included.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "atrous/data/pack_format.h"
#include "atrous/data/pack_reader.h"

namespace atrous::test_support {

class ScratchFile {
 public:
  explicit ScratchFile(const std::string& stem)
      : path_((std::filesystem::temp_directory_path() / (stem + "_" + std::to_string(getpid()) + ".h5"))
                  .string()) {}
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline data::PackMetadata three_class_metadata(int64_t height, int64_t width, const std::string& split) {
  data::PackMetadata metadata;
  metadata.height = height;
  metadata.width = width;
  metadata.num_classes = 3;
  metadata.class_names = {"a", "b", "c"};
  metadata.palette = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}};
  metadata.mean_rgb = {127.5f, 127.5f, 127.5f};
  metadata.resize_policy = "test";
  metadata.source_format = "list";
  metadata.split = split;
  return metadata;
}

}  // namespace atrous::test_support
