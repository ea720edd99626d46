#include "atrous/data/pack_builder.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <optional>
#include <system_error>
#include <thread>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/data/image_io.h"
#include "atrous/data/pack_writer.h"
#include "atrous/data/resize.h"

namespace atrous::data {
namespace {

struct PreparedSample {
  at::Tensor image, label;  // padded to the pack's size
  std::array<int32_t, 2> valid_hw{}, source_hw{};
};

at::Tensor mapped_label(const SampleSource& source, const DatasetDescriptor& descriptor,
                        const ImageLimits& limits) {
  LabelImage raw = read_label_image(source.label_path, limits);
  at::Tensor label =
      raw.is_colour ? colour_to_index(raw.values, descriptor.palette, source.label_path) : raw.values;
  label = label.contiguous();
  uint8_t* values = label.data_ptr<uint8_t>();
  for (int64_t i = 0; i < label.numel(); ++i) {
    const uint8_t mapped = descriptor.label_map[values[i]];
    if (mapped >= descriptor.num_classes && mapped != descriptor.ignore_label)
      throw UserError(
          to_text("label '", source.label_path, "' has value ", int(values[i]), " at pixel (row ",
                  i / label.size(1), ", column ", i % label.size(1), "), which is neither a class (0..",
                  descriptor.num_classes - 1, ") nor the ignore label ", descriptor.ignore_label,
                  " after the label map of '", descriptor.path,
                  "'; fix the descriptor (num_classes, label_map) or skip such samples with "
                  "--pack.skip_bad"),
          ATROUS_HERE);
    values[i] = mapped;
  }
  return label;
}

PreparedSample prepare(const SampleSource& source, const DatasetDescriptor& descriptor,
                       const ImageLimits& limits, int64_t size, int64_t height, int64_t width) {
  at::Tensor image = read_rgb_image(source.image_path, limits);
  at::Tensor label = mapped_label(source, descriptor, limits);
  if (image.size(0) != label.size(0) || image.size(1) != label.size(1))
    throw UserError(to_text("image '", source.image_path, "' is ", image.size(0), " x ", image.size(1),
                            " but label '", source.label_path, "' is ", label.size(0), " x ", label.size(1),
                            "; they must match (or skip such samples with --pack.skip_bad)"),
                    ATROUS_HERE);
  PreparedSample sample;
  sample.source_hw = {int32_t(image.size(0)), int32_t(image.size(1))};
  if (size > 0) {
    const double scale = double(size) / double(std::max(image.size(0), image.size(1)));
    const int64_t h = std::max<int64_t>(1, std::llround(image.size(0) * scale));
    const int64_t w = std::max<int64_t>(1, std::llround(image.size(1) * scale));
    if (h != image.size(0) || w != image.size(1)) {
      const at::Tensor resized = resize_image_bilinear(image.permute({2, 0, 1}).to(at::kFloat), h, w);
      image = resized.round().clamp(0, 255).to(at::kByte).permute({1, 2, 0});
      label = resize_labels_nearest(label, h, w);
    }
  }
  sample.valid_hw = {int32_t(image.size(0)), int32_t(image.size(1))};
  sample.image = at::empty({height, width, 3}, at::kByte);
  for (int c = 0; c < 3; ++c) sample.image.select(2, c).fill_(std::lround(descriptor.mean_rgb[c]));
  sample.image.slice(0, 0, image.size(0)).slice(1, 0, image.size(1)).copy_(image);
  sample.label = at::full({height, width}, descriptor.ignore_label, at::kByte);
  sample.label.slice(0, 0, label.size(0)).slice(1, 0, label.size(1)).copy_(label);
  return sample;
}

// The pack's common size: S x S, or the largest image of the split.
std::array<int64_t, 2> pack_size(const PackOptions& options, const ImageLimits& limits,
                                 const std::vector<SampleSource>& samples) {
  if (options.size > 0) return {options.size, options.size};
  int64_t height = 0, width = 0;
  for (const auto& sample : samples) {
    try {
      const auto hw = read_image_size(sample.image_path, limits);
      height = std::max(height, hw[0]);
      width = std::max(width, hw[1]);
    } catch (const UserError&) {
      if (!options.skip_bad) throw;  // skipped samples are counted when they fail to load below
    }
  }
  if (height == 0) throw UserError("no readable image in the split", ATROUS_HERE);
  return {height, width};
}

PackMetadata pack_metadata(const PackOptions& options, const DatasetDescriptor& descriptor, int64_t height,
                           int64_t width) {
  PackMetadata metadata;
  metadata.height = height;
  metadata.width = width;
  metadata.num_classes = descriptor.num_classes;
  metadata.ignore_label = descriptor.ignore_label;
  metadata.class_names = descriptor.class_names;
  metadata.palette = descriptor.palette;
  metadata.mean_rgb = descriptor.mean_rgb;
  metadata.resize_policy = options.size > 0
                               ? to_text("longer side ", options.size, ", padded to ", height, " x ", width)
                               : to_text("not resized, padded to the largest image, ", height, " x ", width);
  metadata.source_format = options.format;
  metadata.split = options.split;
  return metadata;
}

// One sample of a chunk: prepared, or why not (error: a UserError's text, empty for other failures).
struct ChunkSample {
  std::optional<PreparedSample> prepared;
  std::string error;
  std::exception_ptr failure;
};

// Prepares `samples` on `threads` threads (the calling one included).
std::vector<ChunkSample> prepare_chunk(const std::vector<SampleSource>& samples,
                                       const DatasetDescriptor& descriptor, const ImageLimits& limits,
                                       int64_t size, int64_t height, int64_t width, int threads) {
  std::vector<ChunkSample> chunk(samples.size());
  const int workers = std::max(1, threads);
  auto work = [&](int worker) {
    for (size_t i = size_t(worker); i < samples.size(); i += size_t(workers)) {
      try {
        chunk[i].prepared = prepare(samples[i], descriptor, limits, size, height, width);
      } catch (const UserError& error) {
        chunk[i].error = error.what();
        chunk[i].failure = std::current_exception();
      } catch (...) {
        chunk[i].failure = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(size_t(std::max(0, threads - 1)));  // so that only a thread's start can throw below
  try {
    for (int worker = 1; worker < threads; ++worker) pool.emplace_back(work, worker);
  } catch (const std::system_error& error) {  // the system refused a thread: finish the started ones
    for (auto& thread : pool) thread.join();
    throw UserError(to_text("cannot start pack.threads = ", threads, " threads (", pool.size() + 1,
                            " running: ", error.what(), "); lower pack.threads"),
                    ATROUS_HERE);
  }
  work(0);
  for (auto& thread : pool) thread.join();
  return chunk;
}

}  // namespace

void PackOptions::declare(OptionTable& table, PackOptions& options) {
  table.add("pack.format", &options.format, std::string(),
            "the source dataset's layout (also the first word)", choice_list_text(source_formats()));
  table.add("pack.root", &options.root, std::string(), "the source dataset's folder", "a folder");
  table.add("pack.split", &options.split, std::string(),
            "the split; format list: the file of `image_path label_path` lines, which, like the paths in "
            "it, is relative to pack.root unless absolute",
            "e.g. train, val, train_aug; list: a file");
  table.add("pack.out", &options.out, std::string(), "the pack to write (HDF5)", "a file path");
  table.add("pack.descriptor", &options.descriptor, std::string(),
            "the dataset descriptor; empty: datasets/<format>.ini", "an INI file, or empty");
  table.add("pack.size", &options.size, 0,
            "resize so that the longer side is this, then pad to size x size; 0: pad to the largest image",
            "an integer >= 0");
  table.add("pack.compress", &options.compress, 0, "gzip level of the image and label data; 0: none",
            "an integer in 0..9");
  table.add("pack.checksums", &options.checksums, true,
            "a Fletcher32 checksum in every chunk, so that a sample changed on disk is refused when read",
            "true or false");
  table.add("pack.limit", &options.limit, 0, "pack only the first N samples; 0: all", "an integer >= 0");
  table.add("pack.skip_bad", &options.skip_bad, false,
            "skip unreadable or invalid samples (and count them) instead of stopping", "true or false");
  table.add("pack.threads", &options.threads, 0, "decoding threads; 0: the rank's threads",
            "an integer from 0 to 1024");
  table.add("pack.max_pixels", &options.max_pixels, default_max_pixels,
            "refuse a source image or label of more pixels (height x width, read from its header before "
            "decoding) as a decompression bomb; 0: no limit",
            "an integer >= 0");
}

void PackOptions::validate() const {
  const auto& formats = source_formats();
  ATROUS_CHECK_OPTION(std::find(formats.begin(), formats.end(), format) != formats.end(), "pack.format",
                      format, choice_list_text(formats) + " (atrous pack <format> ...)");
  ATROUS_CHECK_OPTION(!root.empty(), "pack.root", root, "the source dataset's folder");
  ATROUS_CHECK_OPTION(!split.empty(), "pack.split", split, "a split name, e.g. train or val");
  ATROUS_CHECK_OPTION(!out.empty(), "pack.out", out, "the path of the pack to write");
  ATROUS_CHECK_OPTION(size >= 0, "pack.size", size, "an integer >= 0");
  ATROUS_CHECK_OPTION(compress >= 0 && compress <= 9, "pack.compress", compress, "an integer in 0..9");
  ATROUS_CHECK_OPTION(limit >= 0, "pack.limit", limit, "an integer >= 0");
  ATROUS_CHECK_OPTION(threads >= 0 && threads <= 1024, "pack.threads", threads, "an integer from 0 to 1024");
  ATROUS_CHECK_OPTION(max_pixels >= 0, "pack.max_pixels", max_pixels, "an integer >= 0 (0: no limit)");
}

PackSummary build_pack(const PackOptions& options, const DatasetDescriptor& descriptor,
                       const std::vector<SampleSource>& all_samples, int threads,
                       const std::function<void(int64_t, int64_t)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<SampleSource> samples = all_samples;
  if (options.limit > 0 && int64_t(samples.size()) > options.limit) samples.resize(options.limit);
  PackSummary summary;
  const ImageLimits limits{options.max_pixels, "pack.max_pixels"};
  const auto [height, width] = pack_size(options, limits, samples);
  summary.height = height;
  summary.width = width;
  PackWriter writer(options.out, pack_metadata(options, descriptor, height, width), options.compress,
                    options.checksums);

  const int64_t total = int64_t(samples.size());
  const int64_t chunk_size = std::max(1, threads) * 4;
  for (int64_t first = 0; first < total; first += chunk_size) {
    const std::vector<SampleSource> sources(samples.begin() + first,
                                            samples.begin() + std::min(first + chunk_size, total));
    const std::vector<ChunkSample> chunk =
        prepare_chunk(sources, descriptor, limits, options.size, height, width, threads);
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (chunk[i].failure) {
        if (!options.skip_bad || chunk[i].error.empty()) std::rethrow_exception(chunk[i].failure);
        summary.skipped.push_back(sources[i].name + ": " + chunk[i].error);
        continue;
      }
      const PreparedSample& sample = *chunk[i].prepared;
      writer.append(sources[i].name, sample.image, sample.label, sample.valid_hw, sample.source_hw);
      ++summary.written;
    }
    progress(first + int64_t(sources.size()), total);
  }
  if (summary.written == 0)
    throw UserError(to_text("no sample of the split could be packed (", summary.skipped.size(),
                            " skipped); '", options.out, "' was not written"),
                    ATROUS_HERE);
  writer.commit();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace atrous::data
