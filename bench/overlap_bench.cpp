// Exposed communication of data-parallel training on a real DeepLab: the step time of every rank
// with the GradReducer (allreduce overlapped with backward) against the same step with the
// reduction skipped (same compute), and the time of the same allreduce alone, all in one run.
//   exposed overhead = (reduced - local) / local           target <= 10% on the 2-core machine
//   hidden fraction  = 1 - (reduced - local) / allreduce alone
// A step: DeepLabV3+ forward on --batch random images of --crop pixels per rank, cross-entropy of
// the merged logits against random labels, backward. Defaults: the demo configuration
// (mobilenet_v2, crop 129, batch 8); --backbone resnet50 --crop 321 --batch 2 for a large model.
//   mpirun -np 2 build/bench/atrous_overlap_bench [--backbone mobilenet_v2 --crop 129 --batch 8]
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "atrous/core/allocator_tuning.h"
#include "atrous/distributed/grad_reducer.h"
#include "atrous/distributed/model_replication.h"
#include "atrous/distributed/mpi_communicator.h"
#include "atrous/distributed/world.h"
#include "atrous/model/deeplab.h"
#include "timing.h"

namespace {

using atrous::distributed::NamedTensor;

struct Net {
  std::shared_ptr<atrous::model::DeepLabImpl> model;
  std::vector<NamedTensor> parameters;
  Net(const atrous::model::ModelOptions& options, int64_t classes) {
    at::manual_seed(0);
    model = std::make_shared<atrous::model::DeepLabImpl>(options, classes);
    model->train();
    for (const auto& item : model->named_parameters()) parameters.push_back({item.key(), item.value()});
  }
  void step(const at::Tensor& images, const at::Tensor& labels) {
    const at::Tensor logits = model->forward(images).back().logits;  // "merged"
    at::cross_entropy_loss(logits, labels).backward();
  }
  void zero_grad() {
    for (auto& p : parameters)
      if (p.tensor.grad().defined()) p.tensor.mutable_grad().zero_();
  }
  int64_t gradient_bytes() const {
    int64_t bytes = 0;
    for (const auto& p : parameters) bytes += p.tensor.numel() * 4;
    return bytes;
  }
};

}  // namespace

int main(int argc, char** argv) {
  atrous::ensure_tuned_allocator(argv);
  using namespace atrous::distributed;
  std::map<std::string, std::string> settings = {
      {"--backbone", "mobilenet_v2"}, {"--crop", "129"}, {"--batch", "8"}, {"--repetitions", "7"}};
  for (int i = 1; i + 1 < argc; ++i)
    if (settings.count(argv[i])) settings[argv[i]] = argv[i + 1];
  World world(&argc, &argv, WorldOptions{});
  MpiCommunicator comm(world.comm(), CommunicatorOptions{});
  const int repetitions = std::stoi(settings["--repetitions"]);
  const int64_t crop = std::stoll(settings["--crop"]), batch = std::stoll(settings["--batch"]), classes = 21;
  atrous::model::ModelOptions options;
  options.backbone = settings["--backbone"];
  at::manual_seed(1 + world.rank());
  const at::Tensor images = at::rand({batch, 3, crop, crop}) * 255;

  Net reduced(options, classes), local(options, classes);
  const at::Tensor logits_shape = local.model->forward(images).back().logits;
  const at::Tensor labels =
      at::randint(0, classes, {batch, logits_shape.size(2), logits_shape.size(3)}, at::kLong);
  local.zero_grad();
  replicate_from_root(reduced.parameters, {}, comm);
  GradReducer reducer(reduced.parameters, comm, ReducerOptions{});
  // Alternate the two kinds of step, so that drifts of the machine's speed affect both alike.
  std::vector<double> reduced_times, local_times;
  for (int i = 0; i < repetitions; ++i) {
    reduced_times.push_back(atrous::bench::median_seconds(world.comm(), 1, [&] {
      reduced.step(images, labels);
      reducer.finish_step();
      reduced.zero_grad();
    }));
    local_times.push_back(atrous::bench::median_seconds(world.comm(), 1, [&] {
      local.step(images, labels);
      local.zero_grad();
    }));
  }
  const double with_reduction = atrous::bench::median(reduced_times),
               without = atrous::bench::median(local_times);
  at::Tensor flat = at::ones({reduced.gradient_bytes() / 4});
  const double allreduce_alone = atrous::bench::median_seconds(
      world.comm(), repetitions, [&] { comm.allreduce(flat, ReduceOp::average)->wait(); });

  if (world.is_root()) {
    const double exposed = with_reduction - without;
    std::printf(
        "DeepLabV3+ %s, crop %lld, batch %lld per rank; %d ranks x %d threads; gradients %.1f MB in %zu "
        "bucket(s)\n",
        options.backbone.c_str(), static_cast<long long>(crop), static_cast<long long>(batch), world.size(),
        world.threads(), reduced.gradient_bytes() / 1e6, reducer.bucket_layout().size());
    std::printf(
        "step without reduction %.4f s\nstep with reduction    %.4f s\nallreduce alone        %.4f s\n",
        without, with_reduction, allreduce_alone);
    std::printf("exposed overhead %.1f%% (target <= 10%%); hidden fraction of the allreduce %.0f%%\n",
                100 * exposed / without, 100 * std::clamp(1 - exposed / allreduce_alone, 0.0, 1.0));
  }
  return 0;
}
