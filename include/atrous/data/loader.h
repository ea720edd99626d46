#pragma once
// Loader: this rank's batches of a dataset (a pack, or samples in memory: data/dataset.h), read and
// augmented ahead of time by background threads.
//
// Per epoch, the rank's samples (data/shard_sampler.h) are cut into batches of batch_size; with
// drop_last the incomplete last batch is left out (training), otherwise it is delivered smaller
// (evaluation). Reader threads build batches out of order — reading samples from the dataset (its
// read() is called from all of them at once) and augmenting each with its own
// CounterRng(seed, epoch, sample index) (data/augmentation.h), or only padding them for evaluation —
// and keep at most `prefetch` batches ready; next() hands them out in order, so the result never
// depends on the number of threads.
// start_epoch(epoch, position) restarts anywhere: a resumed run gets exactly the batches an
// uninterrupted run would have got from there.

#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atrous/data/augmentation.h"
#include "atrous/data/dataset.h"
#include "atrous/data/shard_sampler.h"

namespace atrous {
class OptionTable;
}

namespace atrous::data {

struct LoaderOptions {
  int batch_size = 8;       // data.batch_size: images per rank per step
  int reader_threads = 2;   // data.reader_threads
  int prefetch = 4;         // data.prefetch: batches kept ready
  int64_t seed = 0;         // data.seed, >= 0
  bool augment = true;      // training augmentation; false pads only (evaluation)
  bool drop_last = true;    // leave out an incomplete last batch
  bool pin_memory = false;  // batches in page-locked memory (set by the trainer on CUDA devices)

  static void declare(OptionTable& table, LoaderOptions& options);
  void validate() const;
};

struct Batch {
  at::Tensor images;             // [B, 3, crop, crop] float32, RGB 0..255
  at::Tensor labels;             // [B, crop, crop] uint8
  std::vector<int64_t> indices;  // the dataset's sample indices
  uint64_t epoch = 0;
  int64_t position = 0;  // samples of this rank's epoch consumed after this batch
};

class Loader {
 public:
  // The dataset must outlive the loader. augment_options.crop_size: the training crop, or for
  // evaluation the size every sample is padded to.
  Loader(const Dataset& dataset, ShardSampler sampler, const LoaderOptions& options,
         const AugmentOptions& augment_options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts delivering `epoch` from `position` (samples of this rank's epoch already consumed).
  void start_epoch(uint64_t epoch, int64_t position = 0);
  // The next batch of the epoch, or nullopt after its last. Waits while none is ready.
  std::optional<Batch> next();
  // Batches per epoch for this rank.
  int64_t batches_per_epoch() const;
  // Seconds next() spent waiting for the readers since construction.
  double seconds_waited() const;

 private:
  void stop_threads();  // tells the reader threads to stop and joins them

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace atrous::data
