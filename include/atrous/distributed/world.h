#pragma once
// World: this process's place in the MPI job, and the resources it may use.
//
// Construction (collective over every rank of the job):
//   - MPI_Init_thread with MPI_THREAD_MULTIPLE: the communicator's background thread
//     (distributed/mpi_communicator.h) makes MPI calls while the main thread may make others (error
//     agreement, gathers). A lower level is a UserError saying what the MPI library provides. If
//     MPI is already initialised (a test harness), it is used as it is and left to its owner to
//     finalise. Before initialising, it asks Open MPI to yield the core while a collective waits
//     (OMPI_MCA_mpi_yield_when_idle=1, unless the environment already says otherwise).
//   - MPI_ERRORS_RETURN on MPI_COMM_WORLD so ATROUS_MPI_CHECK sees failures, then a duplicate of it:
//     atrous's traffic never mixes with anyone else's.
//   - local rank and local size from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED), whatever launched
//     the job (mpirun, srun --mpi=pmix, sbatch); the host name; the rank label (core/rank_label.h).
//   - intra-op threads (distributed/thread_budget.h), applied to LibTorch with at::set_num_threads.
//   - the device: when dist.device is cuda, or auto and CUDA is usable, the GPU that
//     distributed/gpu_assignment.h assigns (cuda:<local rank>, or shared with dist.share_gpus); else cpu.
// Bad options or environment are reported once through distributed::agree_on_errors (ReportedError).
//
// Destruction finalises MPI if this World initialised it, except while an exception is unwinding:
// then another rank may be blocked in a collective and the top-level handler aborts the job instead.

#include <mpi.h>

#include <c10/core/Device.h>
#include <string>
#include <vector>

#include "atrous/core/options.h"
#include "atrous/distributed/mpi_comm.h"
#include "atrous/distributed/thread_budget.h"

namespace atrous::distributed {

// dist.device: where each rank computes. automatic picks cuda when a GPU is usable, else cpu.
enum class DeviceChoice { automatic, cpu, cuda };

// The names of dist.device: auto, cpu, cuda.
const ChoiceValues<DeviceChoice>& device_choices();

struct WorldOptions {
  int threads = 0;                                // dist.threads: 0 = decide (distributed/thread_budget.h)
  DeviceChoice device = DeviceChoice::automatic;  // dist.device
  bool share_gpus = false;                        // dist.share_gpus (distributed/gpu_assignment.h)
  double timeout_s = 600;  // dist.timeout_s: every collective and blocking MPI call (blocking_deadline.h)

  static void declare(OptionTable& table, WorldOptions& options);
  void validate() const;  // OptionError naming the option
};

class World {
 public:
  static constexpr int required_thread_level = MPI_THREAD_MULTIPLE;

  // argc/argv are handed to MPI_Init_thread and may be null.
  World(int* argc, char*** argv, const WorldOptions& options);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  int node_count() const { return node_count_; }
  const std::string& host() const { return host_; }
  const ThreadBudget& thread_budget() const { return budget_; }
  int threads() const { return budget_.threads; }
  // CPUs in this rank's affinity mask, and how many ranks on this node share them (itself included).
  int cpus_available() const { return cpus_available_; }
  int ranks_sharing_cpus() const { return ranks_sharing_cpus_; }
  const c10::Device& device() const { return device_; }
  // dist.timeout_s: the longest any collective may take (Communicators take it from here).
  double timeout_s() const { return timeout_s_; }
  int thread_level() const { return thread_level_; }

  // atrous's duplicate of MPI_COMM_WORLD, and the communicator of the ranks on this node.
  MPI_Comm comm() const { return comm_.get(); }
  MPI_Comm node_comm() const { return node_comm_.get(); }

  // Collective: rank 0 receives every rank's text, in rank order; other ranks receive {}.
  std::vector<std::string> gather_to_root(const std::string& text) const;

 private:
  void init_mpi(int* argc, char*** argv);
  void measure_cpus();
  c10::Device choose_device(DeviceChoice choice, bool share_gpus) const;

  bool owns_mpi_ = false;
  int thread_level_ = MPI_THREAD_SINGLE;
  MpiComm comm_;
  MpiComm node_comm_;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1, node_count_ = 1;
  int cpus_available_ = 1, ranks_sharing_cpus_ = 1;
  std::string host_;
  ThreadBudget budget_;
  c10::Device device_{c10::kCPU};
  double timeout_s_ = 600;
};

// "MPI_THREAD_SERIALIZED" for MPI_THREAD_SERIALIZED, and so on.
const char* thread_level_name(int level);

}  // namespace atrous::distributed
