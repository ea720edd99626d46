// Input pipeline throughput: the Loader (1 and 2 reader threads, with and without augmentation)
// next to a plain sequential read of the same pack, in the same run.
//   atrous_loader_bench [--pack FILE.h5] [--samples 64] [--size 513] [--crop 513] [--batch 8]
// Without --pack it writes a pack of random samples of size x size to a temporary file first.
#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "atrous/core/allocator_tuning.h"
#include "atrous/data/loader.h"
#include "atrous/data/pack_reader.h"
#include "atrous/data/pack_writer.h"

namespace {

using namespace atrous::data;
using Clock = std::chrono::steady_clock;

std::string write_random_pack(int64_t samples, int64_t size) {
  const std::string path = (std::filesystem::temp_directory_path() / "atrous_loader_bench.h5").string();
  PackMetadata metadata;
  metadata.height = metadata.width = size;
  metadata.num_classes = 21;
  metadata.class_names.assign(21, "class");
  metadata.palette.assign(21, {0, 0, 0});
  metadata.mean_rgb = {127.5f, 127.5f, 127.5f};
  metadata.resize_policy = "random benchmark data";
  PackWriter writer(path, metadata, 0);
  for (int64_t i = 0; i < samples; ++i)
    writer.append(std::to_string(i), at::randint(0, 256, {size, size, 3}, at::kLong).to(at::kByte),
                  at::randint(0, 21, {size, size}, at::kLong).to(at::kByte),
                  {static_cast<int32_t>(size), static_cast<int32_t>(size)},
                  {static_cast<int32_t>(size), static_cast<int32_t>(size)});
  writer.commit();
  return path;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  atrous::ensure_tuned_allocator(argv);
  std::map<std::string, std::string> args = {
      {"--pack", ""}, {"--samples", "64"}, {"--size", "513"}, {"--crop", "513"}, {"--batch", "8"}};
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  const bool own_pack = args["--pack"].empty();
  const std::string path = own_pack
                               ? write_random_pack(std::stoll(args["--samples"]), std::stoll(args["--size"]))
                               : args["--pack"];
  PackReader pack(path);
  const int64_t samples = pack.size();
  const double megabytes =
      static_cast<double>(samples * pack.metadata().height * pack.metadata().width * 4) / 1e6;

  auto start = Clock::now();
  for (int64_t i = 0; i < samples; ++i) pack.read(i);
  const double sequential = seconds_since(start);
  std::printf("pack %s: %lld samples of %lldx%lld\n", path.c_str(), static_cast<long long>(samples),
              static_cast<long long>(pack.metadata().height), static_cast<long long>(pack.metadata().width));
  std::printf("%-34s %9.1f images/s %8.1f MB/s\n", "plain sequential read", samples / sequential,
              megabytes / sequential);

  for (bool augment : {false, true})
    for (int threads : {1, 2}) {
      LoaderOptions options;
      options.batch_size = std::stoi(args["--batch"]);
      options.reader_threads = threads;
      options.augment = augment;
      options.drop_last = false;
      AugmentOptions crop;
      crop.crop_size = std::stoi(args["--crop"]);
      Loader loader(pack, ShardSampler(samples, 0, 0, 1, ShardRemainder::drop, augment), options, crop);
      start = Clock::now();
      loader.start_epoch(0);
      int64_t images = 0;
      while (auto batch = loader.next()) images += static_cast<int64_t>(batch->indices.size());
      const double seconds = seconds_since(start);
      const std::string name = std::string("loader, ") + std::to_string(threads) + " thread(s), " +
                               (augment ? "augmented" : "padded only");
      std::printf("%-34s %9.1f images/s %8.1f MB/s  (%.2fx sequential)\n", name.c_str(), images / seconds,
                  megabytes / seconds, sequential / seconds);
    }
  if (own_pack) std::filesystem::remove(path);
  return 0;
}
