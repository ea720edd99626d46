#include "atrous/cli/info_command.h"

#include <torch/cuda.h>
#include <torch/version.h>

#include <iostream>
#include <map>
#include <sstream>

#include "atrous/build_info.h"
#include "atrous/core/allocator_tuning.h"
#include "atrous/core/blas.h"
#include "atrous/data/hdf5_check.h"
#include "atrous/distributed/blocking_deadline.h"
#include "atrous/distributed/cuda_check.h"
#include "atrous/distributed/mpi_check.h"
#include "atrous/distributed/nccl_check.h"
#include "atrous/distributed/transport_probe.h"
#include "atrous/distributed/world.h"

namespace atrous::cli {
namespace {

std::string cuda_line() {
#if ATROUS_HAS_CUDA
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);  // 0 when no driver is installed
  std::string text = to_text("runtime ", runtime / 1000, ".", runtime % 1000 / 10);
  text += driver > 0 ? to_text(", driver ", driver / 1000, ".", driver % 1000 / 10) : ", no driver";
  cudaGetLastError();
  return text;
#else
  return "not compiled in";
#endif
}

std::string nccl_line() {
#if ATROUS_HAS_NCCL
  int version = 0;
  ATROUS_NCCL_CHECK(ncclGetVersion(&version));
  return to_text(version / 10000, ".", version / 100 % 100, ".", version % 100);
#else
  return "not compiled in";
#endif
}

std::string mpi_line() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  ATROUS_MPI_CHECK(MPI_Get_library_version(text, &length));
  std::string version(text, length);
  return version.substr(0, version.find_first_of(",\n"));
}

std::string hdf5_line() {
  unsigned major = 0, minor = 0, release = 0;
  ATROUS_HDF5_CHECK(H5get_libversion(&major, &minor, &release));
  return to_text(major, ".", minor, ".", release);
}

std::string blas_line() {
  BlasLibrary blas = loaded_blas();
  switch (blas.kind) {
    case BlasKind::none_loaded:
      return "no libblas loaded (LibTorch brings its own)";
    case BlasKind::reference:
      return blas.path + " (REFERENCE BLAS: slow, install libopenblas0-openmp)";
    case BlasKind::optimised:
      return blas.path;
  }
  return "";
}

// One message between every pair of ranks, so that the MPI library has opened its connections
// before the transports are probed (a pairwise exchange: an MPI_Alltoall may route through other
// ranks, as Bruck's algorithm does for small messages).
void exchange_with_every_rank(const distributed::World& world) {
  const distributed::ScopedBlockingCall deadline("a message to every rank (MPI_Sendrecv, pairwise)");
  const int size = world.size(), rank = world.rank();
  for (int distance = 1; distance < size; ++distance) {
    int out = rank, in = -1;
    ATROUS_MPI_CHECK(MPI_Sendrecv(&out, 1, MPI_INT, (rank + distance) % size, 0, &in, 1, MPI_INT,
                                  (rank - distance + size) % size, 0, world.comm(), MPI_STATUS_IGNORE));
  }
}

std::string rank_line(const distributed::World& world) {
  const distributed::TransportReport transports =
      distributed::probe_transports(world.local_size(), world.node_count());
  std::ostringstream line;
  line << "  rank " << world.rank() << "  local " << world.local_rank() << "/" << world.local_size()
       << "  host " << world.host() << "  threads " << world.threads() << " (" << world.thread_budget().reason
       << ")  cpus " << world.cpus_available() << "  device " << world.device().str() << "\n"
       << "    MPI within the node: " << transports.within_node
       << "; to other nodes: " << transports.between_nodes;
  return line.str();
}

// "node1 (ranks 0-1), node2 (ranks 2-3)": the hosts in order of their first rank.
std::string node_map(const std::vector<std::string>& hosts) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<int>> ranks;
  for (int rank = 0; rank < static_cast<int>(hosts.size()); ++rank) {
    if (ranks.count(hosts[rank]) == 0) order.push_back(hosts[rank]);
    ranks[hosts[rank]].push_back(rank);
  }
  std::string text;
  for (const auto& host : order) {
    const std::vector<int>& list = ranks[host];
    bool consecutive = list.back() - list.front() + 1 == static_cast<int>(list.size());
    std::string members;
    if (consecutive && list.size() > 1) {
      members = to_text(list.front(), "-", list.back());
    } else {
      for (int rank : list) members += (members.empty() ? "" : ",") + std::to_string(rank);
    }
    text += (text.empty() ? "" : ", ") + host + " (rank" + (list.size() > 1 ? "s " : " ") + members + ")";
  }
  return text;
}

}  // namespace

int InfoCommand::run(const CommandContext& context) {
  const distributed::World& world = context.world;
  exchange_with_every_rank(world);
  std::vector<std::string> ranks = world.gather_to_root(rank_line(world));
  std::vector<std::string> hosts = world.gather_to_root(world.host());
  if (!world.is_root()) return 0;
  std::cout << "atrous " << ATROUS_VERSION << "\n"
            << "  LibTorch  " << TORCH_VERSION
            << (torch::cuda::is_available()
                    ? to_text(" (CUDA, ", torch::cuda::device_count(), " GPU(s) visible)")
                    : std::string(" (no usable GPU)"))
            << "\n"
            << "  CUDA      " << cuda_line() << "\n"
            << "  NCCL      " << nccl_line() << "\n"
            << "  MPI       " << mpi_line() << "; " << distributed::thread_level_name(world.thread_level())
            << " (needs " << distributed::thread_level_name(distributed::World::required_thread_level)
            << ")\n"
            << "  HDF5      " << hdf5_line() << "\n"
            << "  BLAS      " << blas_line() << "\n"
            << "  malloc    " << allocator_state() << "\n"
            << "world: " << world.size() << " rank(s) on " << world.node_count()
            << " node(s): " << node_map(hosts) << "\n";
  for (const auto& line : ranks) std::cout << line << "\n";
  std::cout << std::flush;
  return 0;
}

}  // namespace atrous::cli
