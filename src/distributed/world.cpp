#include "atrous/distributed/world.h"

#include <ATen/Parallel.h>
#include <sched.h>
#include <torch/cuda.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>

#include "atrous/build_info.h"
#include "atrous/core/environment.h"
#include "atrous/core/options.h"
#include "atrous/core/rank_label.h"
#include "atrous/distributed/blocking_deadline.h"
#include "atrous/distributed/cuda_check.h"
#include "atrous/distributed/error_agreement.h"
#include "atrous/distributed/gpu_assignment.h"
#include "atrous/distributed/mpi_check.h"

namespace atrous::distributed {

const ChoiceValues<DeviceChoice>& device_choices() {
  static const ChoiceValues<DeviceChoice> choices{
      {"auto", DeviceChoice::automatic}, {"cpu", DeviceChoice::cpu}, {"cuda", DeviceChoice::cuda}};
  return choices;
}

void WorldOptions::declare(OptionTable& table, WorldOptions& options) {
  table.add("dist.threads", &options.threads, 0,
            "intra-op threads per rank; 0 decides: SLURM_CPUS_PER_TASK, else this rank's cpus "
            "divided among the ranks that share them",
            "an integer from 0 to 1024");
  table.add_choice("dist.device", &options.device, DeviceChoice::automatic,
                   "where each rank computes; cuda uses GPU <local rank>, auto picks cuda when usable",
                   device_choices());
  table.add("dist.share_gpus", &options.share_gpus, false,
            "let the ranks of a node share its GPUs (local rank r on GPU r mod gpus) when there are fewer "
            "GPUs than ranks; for checking multi-rank runs on one GPU, never faster; NCCL needs NCCL_HOSTID "
            "set differently on each rank",
            "true or false");
  table.add("dist.timeout_s", &options.timeout_s, 600.0,
            "seconds any collective may take, start-up included, before the job is stopped with an error "
            "naming it (and, where it can be known, the ranks that did not reach it)",
            "a number > 0");
}

void WorldOptions::validate() const {
  ATROUS_CHECK_OPTION(threads >= 0 && threads <= 1024, "dist.threads", threads, "an integer from 0 to 1024");
  ATROUS_CHECK_OPTION(timeout_s > 0 && timeout_s <= 1e9, "dist.timeout_s", timeout_s, "a number > 0");
}

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE:
      return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED:
      return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED:
      return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE:
      return "MPI_THREAD_MULTIPLE";
    default:
      return "unknown MPI thread level";
  }
}

World::World(int* argc, char*** argv, const WorldOptions& options) {
  // An invalid timeout is reported by validate() below, after the start-up it cannot time.
  if (options.timeout_s > 0 && options.timeout_s <= 1e9) timeout_s_ = options.timeout_s;
  set_blocking_timeout(timeout_s_);
  std::optional<ScopedBlockingCall> start_up(std::in_place,
                                             "MPI start-up (MPI_Init_thread and the world's layout)");
  init_mpi(argc, argv);
  comm_ = MpiComm::duplicate(MPI_COMM_WORLD);
  rank_ = comm_.rank();
  size_ = comm_.size();
  host_ = local_host_name();
  set_rank_label(RankLabel{rank_, size_, host_});
  node_comm_ = MpiComm::split_by_node(comm_.get());
  local_rank_ = node_comm_.rank();
  local_size_ = node_comm_.size();
  int node_leader = local_rank_ == 0 ? 1 : 0;
  ATROUS_MPI_CHECK(MPI_Allreduce(&node_leader, &node_count_, 1, MPI_INT, MPI_SUM, comm_.get()));
  measure_cpus();
  start_up.reset();

  std::exception_ptr error;
  try {
    options.validate();
    if (thread_level_ < required_thread_level)
      throw UserError(
          to_text("the MPI library provides only ", thread_level_name(thread_level_), ", atrous needs ",
                  thread_level_name(required_thread_level),
                  "; use an MPI library built with thread support (Open MPI 4 and MPICH have it)"),
          ATROUS_HERE);
    budget_ = decide_threads(options.threads, environment_variable("SLURM_CPUS_PER_TASK"), cpus_available_,
                             ranks_sharing_cpus_);
    device_ = choose_device(options.device, options.share_gpus);
  } catch (...) {
    error = std::current_exception();
  }
  agree_on_errors(comm_.get(), error);
  at::set_num_threads(budget_.threads);
}

World::~World() {
  comm_ = MpiComm();
  node_comm_ = MpiComm();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_mpi_ && !finalized && std::uncaught_exceptions() == 0) MPI_Finalize();
}

void World::init_mpi(int* argc, char*** argv) {
  int initialized = 0;
  ATROUS_MPI_CHECK(MPI_Initialized(&initialized));
  if (initialized) {
    ATROUS_MPI_CHECK(MPI_Query_thread(&thread_level_));
  } else {
    // Open MPI busy-polls while a collective waits for a slower rank; on the communicator's thread,
    // which shares its core with the backward pass, that polling slowed the step. Yielding costs
    // nothing measurable when the core is free. The user's own setting wins.
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", /*overwrite=*/0);
    ATROUS_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &thread_level_));
    owns_mpi_ = true;
  }
  ATROUS_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
}

void World::measure_cpus() {
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (sched_getaffinity(0, sizeof(mine), &mine) != 0) {
    CPU_ZERO(&mine);
    CPU_SET(0, &mine);
  }
  cpus_available_ = std::max(1, CPU_COUNT(&mine));
  // Ranks whose masks overlap this one compete for the same cpus.
  std::vector<cpu_set_t> masks(local_size_);
  ATROUS_MPI_CHECK(MPI_Allgather(&mine, sizeof(cpu_set_t), MPI_BYTE, masks.data(), sizeof(cpu_set_t),
                                 MPI_BYTE, node_comm_.get()));
  ranks_sharing_cpus_ = 0;
  for (cpu_set_t& other : masks) {
    cpu_set_t common;
    CPU_AND(&common, &mine, &other);
    if (CPU_COUNT(&common) > 0) ++ranks_sharing_cpus_;
  }
  ranks_sharing_cpus_ = std::max(1, ranks_sharing_cpus_);
}

c10::Device World::choose_device(DeviceChoice choice, bool share_gpus) const {
  if (choice == DeviceChoice::cpu) return c10::Device(c10::kCPU);
  const bool usable = torch::cuda::is_available();
  if (choice == DeviceChoice::automatic && !usable) return c10::Device(c10::kCPU);
  ATROUS_CHECK(usable, "dist.device=cuda but LibTorch sees no usable GPU on ", host_,
               " (a CPU-only LibTorch, no driver, or CUDA_VISIBLE_DEVICES empty); "
               "use --dist.device cpu or build against a CUDA LibTorch");
  const GpuAssignment assigned =
      assign_gpu(local_rank_, local_size_, static_cast<int>(torch::cuda::device_count()), share_gpus);
  ATROUS_CHECK(assigned.refusal.empty(), "on ", host_, ": ", assigned.refusal);
#if ATROUS_HAS_CUDA
  ATROUS_CUDA_CHECK(cudaSetDevice(assigned.gpu));
#else
  throw UserError(
      "this atrous was built without the CUDA toolkit, so it cannot select a GPU; "
      "reconfigure with the CUDA toolkit found, or use --dist.device cpu",
      ATROUS_HERE);
#endif
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(assigned.gpu));
}

std::vector<std::string> World::gather_to_root(const std::string& text) const {
  const ScopedBlockingCall deadline("gathering every rank's text on rank 0 (MPI_Gather)");
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(is_root() ? size_ : 0);
  ATROUS_MPI_CHECK(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm_.get()));
  std::vector<int> offsets(lengths.size(), 0);
  int total = 0;
  for (size_t i = 0; i < lengths.size(); ++i) offsets[i] = total, total += lengths[i];
  std::vector<char> all(std::max(total, 1));
  ATROUS_MPI_CHECK(MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(),
                               MPI_CHAR, 0, comm_.get()));
  std::vector<std::string> texts;
  for (size_t i = 0; i < lengths.size(); ++i) texts.emplace_back(all.data() + offsets[i], lengths[i]);
  return texts;
}

}  // namespace atrous::distributed
