// Allreduce bus bandwidth of atrous's MPI communicator against a plain MPI_Allreduce of the same
// bytes, measured in the same run: float32 sums from 1 KiB to 256 MiB.
//   busbw = algbw * 2 (n - 1) / n, algbw = bytes / time   (NCCL's definitions)
// Run under the launcher, e.g. `mpirun -np 2 build/bench/atrous_allreduce_bench [--max-mib 256]`.
// Rank 0 prints one row per size and the ratio ours / plain (target: >= 0.9 from 1 MiB on); the two
// are timed in turn, repetition by repetition, so that drift in the machine's speed hits both.
// A second table measures the latency of small float64 allreduces, the kind that SyncBatchNorm
// waits for at once: plain MPI_Allreduce, the communicator that hands each operation to its thread
// (MpiProgress::background_thread, the gradients'), and the one the calling thread progresses
// (MpiProgress::calling_thread, the batch norms'), in microseconds per allreduce.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "atrous/core/allocator_tuning.h"
#include "atrous/distributed/mpi_communicator.h"
#include "atrous/distributed/world.h"
#include "timing.h"

namespace {

int repetitions_for(size_t bytes) {
  return bytes <= (1 << 20) ? 50 : bytes <= (16 << 20) ? 20 : 6;
}

}  // namespace

int main(int argc, char** argv) {
  atrous::ensure_tuned_allocator(argv);
  using namespace atrous::distributed;
  size_t max_mib = 256;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--max-mib") == 0) max_mib = std::stoul(argv[i + 1]);
  World world(&argc, &argv, WorldOptions{});
  MpiCommunicator ours(world.comm(), CommunicatorOptions{});
  MpiComm plain_comm = MpiComm::duplicate(world.comm());
  const int n = world.size();
  if (world.is_root())
    std::printf("allreduce float32 sum, %d ranks on %d node(s)\n%12s %14s %14s %8s\n", n, world.node_count(),
                "bytes", "plain busbw", "atrous busbw", "ratio");
  for (size_t bytes = 1024; bytes <= max_mib << 20; bytes *= 4) {
    const int64_t count = static_cast<int64_t>(bytes / 4);
    at::Tensor tensor = at::ones({count}, at::kFloat);
    const int repetitions = repetitions_for(bytes);
    const atrous::bench::PairOfMedians times = atrous::bench::median_seconds_of_both(
        world.comm(), repetitions,
        [&] {
          MPI_Allreduce(MPI_IN_PLACE, tensor.data_ptr(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                        plain_comm.get());
        },
        [&] { ours.allreduce(tensor, ReduceOp::sum)->wait(); });
    const double plain = times.first, atrous = times.second;
    auto busbw = [&](double seconds) { return bytes / seconds * 2.0 * (n - 1) / n / 1e9; };
    if (world.is_root())
      std::printf("%12zu %11.3f GB/s %11.3f GB/s %8.3f\n", bytes, busbw(plain), busbw(atrous),
                  plain / atrous);
  }
  MpiCommunicator direct(world.comm(), CommunicatorOptions{}, MpiProgress::calling_thread);
  if (world.is_root())
    std::printf("\nsmall allreduce latency, float64 sum\n%12s %12s %12s %12s %16s %16s\n", "bytes",
                "plain us", "thread us", "caller us", "thread / plain", "caller / plain");
  for (size_t bytes = 256; bytes <= (64 << 10); bytes *= 4) {
    const int64_t count = static_cast<int64_t>(bytes / 8);
    at::Tensor tensor = at::ones({count}, at::kDouble);
    const int repetitions = 200;
    auto per_call = [&](auto allreduce) {  // 20 back-to-back calls per repetition: latency, not jitter
      return atrous::bench::median_seconds(world.comm(), repetitions,
                                           [&] {
                                             for (int i = 0; i < 20; ++i) allreduce();
                                           }) /
             20 * 1e6;
    };
    const double plain = per_call([&] {
      MPI_Allreduce(MPI_IN_PLACE, tensor.data_ptr(), static_cast<int>(count), MPI_DOUBLE, MPI_SUM,
                    plain_comm.get());
    });
    const double thread = per_call([&] { ours.allreduce(tensor, ReduceOp::sum)->wait(); });
    const double caller = per_call([&] { direct.allreduce(tensor, ReduceOp::sum)->wait(); });
    if (world.is_root())
      std::printf("%12zu %12.1f %12.1f %12.1f %16.2f %16.2f\n", bytes, plain, thread, caller, thread / plain,
                  caller / plain);
  }
  return 0;
}
