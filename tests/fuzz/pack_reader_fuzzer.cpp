// Fuzz target: the pack reader (data/pack_reader.h) on a damaged or foreign HDF5 file.
//
// Input: the file's bytes (seeds: small packs). Only a UserError may leave PackReader's constructor
// and read(); what it reads must have the shapes the pack's metadata promises. Samples are read in
// full up to 64 per pack; of a larger pack (a damaged size, often) the first and last 32.

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>

#include "atrous/data/pack_reader.h"
#include "fuzz_support.h"

namespace {

void read_sample(const atrous::data::PackReader& reader, int64_t index) {
  const atrous::data::PackRecord record = reader.read(index);
  const atrous::data::PackMetadata& metadata = reader.metadata();
  const char* what = "PackReader::read";
  FUZZ_REQUIRE(what, record.image.sizes() == at::IntArrayRef({metadata.height, metadata.width, 3}));
  FUZZ_REQUIRE(what, record.label.sizes() == at::IntArrayRef({metadata.height, metadata.width}));
  FUZZ_REQUIRE(what, record.image.scalar_type() == at::kByte && record.label.scalar_type() == at::kByte);
  FUZZ_REQUIRE(what, record.valid_hw[0] >= 1 && record.valid_hw[0] <= metadata.height);
  FUZZ_REQUIRE(what, record.valid_hw[1] >= 1 && record.valid_hw[1] <= metadata.width);
}

}  // namespace

// HDF5 1.10 leaks some of what it allocated while opening a damaged file: not ours to fix. Leaks of
// memory that HDF5 allocated are therefore not reported (a handle atrous forgets to close is not a
// leak to LeakSanitizer anyway: HDF5 keeps it); leaks of what atrous allocates still are.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libhdf5\n";
}

// A damaged size field makes HDF5 ask malloc for gigabytes or petabytes. Over 512 MB, malloc returns
// null, as it would when memory runs out, and HDF5 reports an error; new (what atrous allocates with)
// is still reported where it is called. (-malloc_limit_mb would be, but not with -detect_leaks=0.)
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1:max_allocation_size_mb=512";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static atrous::fuzz::InputFile file(".h5");
  const std::string& path = file.write(data, size);
  atrous::fuzz::expect_only_user_errors("PackReader", [&] {
    const atrous::data::PackReader reader(path);
    const atrous::data::PackMetadata& metadata = reader.metadata();
    const char* what = "PackReader";
    FUZZ_REQUIRE(what, metadata.num_classes >= 1 && metadata.num_classes <= 256);
    FUZZ_REQUIRE(what, metadata.class_names.size() == size_t(metadata.num_classes));
    FUZZ_REQUIRE(what, metadata.ignore_label >= 0 && metadata.ignore_label <= 255);
    FUZZ_REQUIRE(what, reader.size() >= 0 && metadata.height >= 1 && metadata.width >= 1);
    for (int64_t i = 0; i < reader.size(); ++i) {
      if (i == 32 && reader.size() > 64) i = reader.size() - 32;
      read_sample(reader, i);
    }
  });
  return 0;
}
