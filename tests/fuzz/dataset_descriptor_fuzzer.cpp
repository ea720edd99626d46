// Fuzz target: dataset descriptors (data/dataset_descriptor.h), the INI files of datasets/.
//
// Input: the descriptor's text. Only a UserError may leave read_descriptor; a descriptor it accepts
// must keep the promises of its header.

#include <cstddef>
#include <cstdint>

#include "atrous/data/dataset_descriptor.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static atrous::fuzz::InputFile file(".ini");
  const std::string& path = file.write(data, size);
  atrous::fuzz::expect_only_user_errors("read_descriptor", [&] {
    const atrous::data::DatasetDescriptor d = atrous::data::read_descriptor(path);
    const char* what = "read_descriptor";
    FUZZ_REQUIRE(what, d.num_classes >= 1 && d.num_classes <= 255);
    FUZZ_REQUIRE(what, d.class_names.size() == size_t(d.num_classes));
    FUZZ_REQUIRE(what, d.ignore_label >= d.num_classes && d.ignore_label <= 255);
    FUZZ_REQUIRE(what, d.palette.size() >= size_t(d.num_classes));
    for (float mean : d.mean_rgb) FUZZ_REQUIRE(what, mean >= 0 && mean <= 255);
  });
  return 0;
}
