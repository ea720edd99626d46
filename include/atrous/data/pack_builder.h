#pragma once
// Building a pack (`atrous pack`): read each source sample, map and check its label, resize and pad
// it to the pack's common size, and append it with data/pack_writer.h (written under a temporary
// name, renamed only on success).
//
// Size (pack.size S > 0): the longer side becomes S, keeping the aspect ratio (new side =
// round(side * S / longer side)); image bilinear with aligned corners, label nearest (data/resize.h);
// then padding at the bottom and right to S x S, the image with the mean pixel, the label with the
// ignore label. S = 0: no resizing; padding to the largest image of the split.
// Validation: image and label of different sizes, or a label value that the descriptor's label map
// does not turn into a class index or the ignore label, is a UserError naming the file, the value
// and the fix; so is a damaged source file (data/image_io.h) and an image or label of more than
// pack.max_pixels pixels, refused from its header before it is decoded. With skip_bad such samples
// are skipped and counted instead (an oversized image is also left out of the pack's common size).
// Samples are decoded by `threads` worker threads and written in source order.

#include <functional>
#include <string>
#include <vector>

#include "atrous/data/dataset_descriptor.h"
#include "atrous/data/dataset_sources.h"
#include "atrous/data/image_io.h"

namespace atrous {
class OptionTable;
}

namespace atrous::data {

struct PackOptions {
  // pack.format: one of source_formats() (voc, cityscapes, ade20k, list). Text, not a choice option:
  // it has no default, the user must name the layout.
  std::string format;
  std::string root;        // pack.root
  std::string split;       // pack.split
  std::string out;         // pack.out
  std::string descriptor;  // pack.descriptor: empty = datasets/<format>.ini
  int size = 0;            // pack.size
  int compress = 0;        // pack.compress: 0, or gzip 1..9
  bool checksums = true;   // pack.checksums: Fletcher32 per chunk (data/pack_writer.h)
  int limit = 0;           // pack.limit: 0 = all
  bool skip_bad = false;   // pack.skip_bad
  int threads = 0;         // pack.threads: 0 = the rank's threads
  // pack.max_pixels: the most pixels (height x width) of a source image or label; 0 = no limit
  int64_t max_pixels = default_max_pixels;

  static void declare(OptionTable& table, PackOptions& options);
  void validate() const;
};

struct PackSummary {
  int64_t written = 0;
  std::vector<std::string> skipped;  // "name: reason"
  int64_t height = 0, width = 0;
  double seconds = 0;
};

// progress(done, total) is called from the calling thread after each written batch.
PackSummary build_pack(const PackOptions& options, const DatasetDescriptor& descriptor,
                       const std::vector<SampleSource>& samples, int threads,
                       const std::function<void(int64_t, int64_t)>& progress);

}  // namespace atrous::data
