#pragma once
// How many intra-op (LibTorch/OpenMP/BLAS) threads one rank should use.
//
// In order of precedence:
//   1. dist.threads > 0: exactly that many.
//   2. SLURM_CPUS_PER_TASK: the CPUs SLURM gave each task (a value that is not a positive integer is
//      a UserError naming the variable, never silently ignored).
//   3. The CPUs this rank may run on (its affinity mask) divided among the ranks on this node whose
//      masks overlap it, at least 1. Unbound ranks on a 32-core node with 4 ranks get 8 threads each;
//      ranks bound to their own cores by mpirun or srun get all of their own.

#include <optional>
#include <string>

namespace atrous::distributed {

struct ThreadBudget {
  int threads = 1;
  std::string reason;  // for the log: "dist.threads", "SLURM_CPUS_PER_TASK=4", "8 cpus / 2 ranks"
};

ThreadBudget decide_threads(int requested_threads, const std::optional<std::string>& slurm_cpus_per_task,
                            int cpus_available, int ranks_sharing_cpus);

}  // namespace atrous::distributed
