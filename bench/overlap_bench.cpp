// Exposed communication of data-parallel training: the step time of every rank with the
// GradReducer (allreduce overlapped with backward) against the same step with the reduction
// skipped (same compute), and the time of the same allreduce alone, all in one run.
//   exposed overhead = (reduced - local) / local           target <= 10% on the 2-core machine
//   hidden fraction  = 1 - (reduced - local) / allreduce alone
// The network is a stand-in until the DeepLab models exist: a stack of 3x3 convolutions (ReLU),
// sized by --layers, --channels, --size (spatial) and --batch per rank.
//   mpirun -np 2 build/bench/atrous_overlap_bench [--layers 12 --channels 256 --size 17 --batch 2]
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "atrous/core/allocator_tuning.h"
#include "atrous/dist/grad_reducer.h"
#include "atrous/dist/mpi_communicator.h"
#include "atrous/dist/world.h"
#include "timing.h"

namespace {

using atrous::dist::NamedTensor;

struct ConvStack {
  std::vector<NamedTensor> parameters;
  ConvStack(int64_t layers, int64_t channels) {
    at::manual_seed(0);
    for (int64_t i = 0; i < layers; ++i) {
      parameters.push_back(
          {"conv" + std::to_string(i) + ".weight",
           (at::randn({channels, channels, 3, 3}) * (1.0 / (channels * 3))).requires_grad_(true)});
      parameters.push_back(
          {"conv" + std::to_string(i) + ".bias", at::zeros({channels}).requires_grad_(true)});
    }
  }
  void step(const at::Tensor& input) {
    at::Tensor h = input;
    for (size_t i = 0; i < parameters.size(); i += 2)
      h = at::relu(at::conv2d(h, parameters[i].tensor, parameters[i + 1].tensor, 1, 1));
    h.square().mean().backward();
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
  using namespace atrous::dist;
  std::map<std::string, int64_t> settings = {
      {"--layers", 12}, {"--channels", 256}, {"--size", 17}, {"--batch", 2}, {"--repetitions", 7}};
  for (int i = 1; i + 1 < argc; ++i)
    if (settings.count(argv[i])) settings[argv[i]] = std::stoll(argv[i + 1]);
  World world(&argc, &argv, WorldOptions{});
  MpiCommunicator comm(world.comm(), CommunicatorOptions{});
  const int repetitions = static_cast<int>(settings["--repetitions"]);
  at::Tensor input =
      at::randn({settings["--batch"], settings["--channels"], settings["--size"], settings["--size"]});

  ConvStack reduced(settings["--layers"], settings["--channels"]),
      local(settings["--layers"], settings["--channels"]);
  GradReducer reducer(reduced.parameters, {}, comm, ReducerOptions{});
  // Alternate the two kinds of step, so that drifts of the machine's speed affect both alike.
  std::vector<double> reduced_times, local_times;
  for (int i = 0; i < repetitions; ++i) {
    reduced_times.push_back(atrous::bench::median_seconds(world.comm(), 1, [&] {
      reduced.step(input);
      reducer.finish_step();
      reduced.zero_grad();
    }));
    local_times.push_back(atrous::bench::median_seconds(world.comm(), 1, [&] {
      local.step(input);
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
        "stand-in conv stack: %lld layers x %lld channels, %lldx%lld, batch %lld per rank; %d ranks x %d "
        "threads; gradients %.1f MB in %zu bucket(s)\n",
        static_cast<long long>(settings["--layers"]), static_cast<long long>(settings["--channels"]),
        static_cast<long long>(settings["--size"]), static_cast<long long>(settings["--size"]),
        static_cast<long long>(settings["--batch"]), world.size(), world.threads(),
        reduced.gradient_bytes() / 1e6, reducer.bucket_layout().size());
    std::printf(
        "step without reduction %.4f s\nstep with reduction    %.4f s\nallreduce alone        %.4f s\n",
        without, with_reduction, allreduce_alone);
    std::printf("exposed overhead %.1f%% (target <= 10%%); hidden fraction of the allreduce %.0f%%\n",
                100 * exposed / without, 100 * std::clamp(1 - exposed / allreduce_alone, 0.0, 1.0));
  }
  return 0;
}
