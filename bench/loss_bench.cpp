// Time of the segmentation loss alone (forward + backward), local and global top-k scope, for
// DeepLab's training shape: crop 513, batch 4, 21 classes, top_k_percent_pixels 0.25, logits at
// output stride 4 (129 x 129, the decoder's) upsampled to the labels. Run under the launcher; rank
// 0 prints the median seconds of each scope. bench/run-loss-bench puts them next to the model's
// forward time measured in the same run.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "atrous/core/allocator_tuning.h"
#include "atrous/distributed/mpi_communicator.h"
#include "atrous/distributed/world.h"
#include "atrous/loss/segmentation_loss.h"
#include "timing.h"

namespace {

double loss_seconds(atrous::distributed::World& world, const atrous::loss::SegmentationLoss& loss,
                    const at::Tensor& logits, const at::Tensor& labels, int repetitions) {
  return atrous::bench::median_seconds(world.comm(), repetitions, [&] {
    at::Tensor leaf = logits.detach().requires_grad_(true);
    const atrous::loss::LossResult result = loss({{"merged", leaf}}, labels, 0);
    result.backward.backward();
    result.report.read();  // the step's one read of the loss, as training does it
  });
}

}  // namespace

int main(int argc, char** argv) {
  atrous::ensure_tuned_allocator(argv);
  using namespace atrous;
  distributed::WorldOptions world_options;  // --dist.threads N, as for `atrous`
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--dist.threads") world_options.threads = std::stoi(argv[i + 1]);
  distributed::World world(&argc, &argv, world_options);
  distributed::MpiCommunicator comm(world.comm(), distributed::CommunicatorOptions{});
  const int64_t batch = 4, classes = 21, crop = 513, logit_size = 129;
  at::manual_seed(world.rank());
  at::Tensor logits = at::randn({batch, classes, logit_size, logit_size});
  at::Tensor labels = at::randint(0, classes, {batch, crop, crop}, at::kLong).to(at::kByte);
  labels.masked_fill_(at::rand({batch, crop, crop}) < 0.05, 255);
  if (world.is_root())
    std::printf(
        "loss forward+backward: batch %lld per rank, crop %lld, %lld classes, logits %lldx%lld, "
        "top_k_percent_pixels 0.25, %d rank(s) x %d thread(s)\n",
        static_cast<long long>(batch), static_cast<long long>(crop), static_cast<long long>(classes),
        static_cast<long long>(logit_size), static_cast<long long>(logit_size), world.size(),
        world.threads());
  for (const auto& [scope, scope_value] : loss::top_k_scope_choices()) {
    loss::LossOptions options;
    options.top_k_percent_pixels = 0.25;
    options.top_k_scope = scope_value;
    loss::SegmentationLoss loss(options, classes, 255, comm);
    const double seconds = loss_seconds(world, loss, logits, labels, 5);
    if (world.is_root()) std::printf("loss_seconds %s %.4f\n", scope.c_str(), seconds);
  }
  return 0;
}
