#include "atrous/data/loader.h"

#include <ATen/ATen.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include "atrous/core/error.h"
#include "atrous/core/intra_op_threads.h"
#include "atrous/core/options.h"

namespace atrous::data {
namespace {

constexpr uint32_t augmentation_stream = 1;  // the purpose of a sample's CounterRng draws here

}  // namespace

void LoaderOptions::declare(OptionTable& table, LoaderOptions& options) {
  table.add("data.batch_size", &options.batch_size, 8, "images per rank per step", "an integer >= 1");
  table.add("data.reader_threads", &options.reader_threads, 2, "threads reading and augmenting samples",
            "an integer from 1 to 256");
  table.add("data.prefetch", &options.prefetch, 4, "batches kept ready ahead of training", "an integer >= 1");
  table.add("data.seed", &options.seed, int64_t{0}, "seed of the shuffles and augmentations",
            "an integer >= 0");
}

void LoaderOptions::validate() const {
  ATROUS_CHECK_OPTION(batch_size >= 1, "data.batch_size", batch_size, "an integer >= 1");
  ATROUS_CHECK_OPTION(reader_threads >= 1 && reader_threads <= 256, "data.reader_threads", reader_threads,
                      "an integer from 1 to 256");
  ATROUS_CHECK_OPTION(prefetch >= 1, "data.prefetch", prefetch, "an integer >= 1");
  ATROUS_CHECK_OPTION(seed >= 0, "data.seed", seed, "an integer >= 0");
}

struct Loader::State {
  const Dataset& dataset;
  ShardSampler sampler;
  LoaderOptions options;
  AugmentOptions augment;

  std::mutex mutex;
  std::condition_variable batch_ready, work_available;
  uint64_t generation = 0;  // bumped by start_epoch: work of an older epoch is thrown away
  uint64_t epoch = 0;
  bool epoch_started = false;
  std::vector<int64_t> indices;  // this rank's samples of the epoch
  int64_t first_position = 0, batch_count = 0, next_to_build = 0, next_to_deliver = 0;
  std::map<int64_t, Batch> ready;
  std::exception_ptr error;
  bool stopping = false;
  double waited = 0;
  std::vector<std::thread> threads;

  State(const Dataset& dataset, ShardSampler sampler, const LoaderOptions& options,
        const AugmentOptions& augment)
      : dataset(dataset), sampler(std::move(sampler)), options(options), augment(augment) {}

  Sample load(int64_t index, uint64_t for_epoch) const {
    PackRecord record = dataset.read(index);
    const PackMetadata& metadata = dataset.metadata();
    if (options.augment) {
      CounterRng rng(static_cast<uint64_t>(options.seed), for_epoch, static_cast<uint64_t>(index),
                     augmentation_stream);
      return augment_for_training(record.image, record.label, augment, metadata.mean_rgb,
                                  metadata.ignore_label, rng);
    }
    return pad_for_evaluation(record.image, record.label, augment.crop_size, metadata.mean_rgb,
                              metadata.ignore_label);
  }

  Batch build(std::vector<int64_t> batch_indices, uint64_t for_epoch, int64_t position) const {
    std::vector<at::Tensor> images, labels;
    for (int64_t index : batch_indices) {
      Sample sample = load(index, for_epoch);
      images.push_back(sample.image);
      labels.push_back(sample.label);
    }
    at::Tensor image_batch = at::stack(images), label_batch = at::stack(labels);
    if (options.pin_memory) {  // page-locked, so that the copy to the GPU is asynchronous and fast
      image_batch = image_batch.pin_memory();
      label_batch = label_batch.pin_memory();
    }
    return {image_batch, label_batch, std::move(batch_indices), for_epoch, position};
  }

  void work() {
    use_one_intra_op_thread_in_this_thread();
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      work_available.wait(lock, [&] {
        return stopping || (epoch_started && next_to_build < batch_count &&
                            next_to_build < next_to_deliver + options.prefetch);
      });
      if (stopping) return;
      const int64_t batch = next_to_build++;
      const uint64_t my_generation = generation, my_epoch = epoch;
      const int64_t begin = first_position + batch * options.batch_size;
      const int64_t end = std::min<int64_t>(begin + options.batch_size, static_cast<int64_t>(indices.size()));
      std::vector<int64_t> batch_indices(indices.begin() + begin, indices.begin() + end);
      lock.unlock();
      std::optional<Batch> built;
      std::exception_ptr failure;
      try {
        built = build(std::move(batch_indices), my_epoch, end);
      } catch (...) {
        failure = std::current_exception();
      }
      lock.lock();
      if (generation != my_generation) continue;  // the epoch was restarted meanwhile
      if (failure && !error) error = failure;
      if (built) ready.emplace(batch, std::move(*built));
      batch_ready.notify_all();
    }
  }
};

Loader::Loader(const Dataset& dataset, ShardSampler sampler, const LoaderOptions& options,
               const AugmentOptions& augment_options)
    : state_(std::make_unique<State>(dataset, std::move(sampler), options, augment_options)) {
  options.validate();
  augment_options.validate();
  try {
    state_->threads.reserve(size_t(options.reader_threads));
    for (int i = 0; i < options.reader_threads; ++i) state_->threads.emplace_back([this] { state_->work(); });
  } catch (const std::system_error& error) {  // the system refused a thread: stop those already started
    stop_threads();
    throw UserError(
        to_text("cannot start data.reader_threads = ", options.reader_threads, " threads (",
                state_->threads.size(), " started: ", error.what(), "); lower data.reader_threads"),
        ATROUS_HERE);
  } catch (...) {
    stop_threads();
    throw;
  }
}

void Loader::stop_threads() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->work_available.notify_all();
  for (auto& thread : state_->threads) thread.join();
}

Loader::~Loader() {
  stop_threads();
}

void Loader::start_epoch(uint64_t epoch, int64_t position) {
  std::vector<int64_t> indices = state_->sampler.indices(epoch);
  const auto available = static_cast<int64_t>(indices.size());
  ATROUS_CHECK(position >= 0 && position <= available, "cannot resume epoch ", epoch, " at sample ", position,
               ": this rank has ", available,
               " samples per epoch (was the checkpoint made with another world size?)");
  std::lock_guard<std::mutex> lock(state_->mutex);
  State& s = *state_;
  ++s.generation;
  s.epoch = epoch;
  s.epoch_started = true;
  s.indices = std::move(indices);
  s.first_position = position;
  const int64_t remaining = available - position, size = s.options.batch_size;
  s.batch_count = s.options.drop_last ? remaining / size : (remaining + size - 1) / size;
  s.next_to_build = s.next_to_deliver = 0;
  s.ready.clear();
  s.error = nullptr;
  s.work_available.notify_all();
}

std::optional<Batch> Loader::next() {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mutex);
  ATROUS_ASSERT(s.epoch_started, "Loader::next() before start_epoch()");
  if (s.next_to_deliver >= s.batch_count) return std::nullopt;
  const auto start = std::chrono::steady_clock::now();
  s.batch_ready.wait(lock, [&] { return s.error || s.ready.count(s.next_to_deliver) > 0; });
  s.waited += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (s.error && s.ready.count(s.next_to_deliver) == 0) std::rethrow_exception(s.error);
  Batch batch = std::move(s.ready.at(s.next_to_deliver));
  s.ready.erase(s.next_to_deliver++);
  s.work_available.notify_all();
  return batch;
}

int64_t Loader::batches_per_epoch() const {
  const int64_t per_rank = state_->sampler.samples_per_rank(), size = state_->options.batch_size;
  return state_->options.drop_last ? per_rank / size : (per_rank + size - 1) / size;
}

double Loader::seconds_waited() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->waited;
}

}  // namespace atrous::data
