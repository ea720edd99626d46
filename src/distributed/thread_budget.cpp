#include "atrous/distributed/thread_budget.h"

#include <algorithm>

#include "atrous/core/environment.h"
#include "atrous/core/error.h"

namespace atrous::distributed {

ThreadBudget decide_threads(int requested_threads, const std::optional<std::string>& slurm_cpus_per_task,
                            int cpus_available, int ranks_sharing_cpus) {
  ATROUS_ASSERT(requested_threads >= 0, "requested_threads is validated by WorldOptions");
  ATROUS_ASSERT(cpus_available >= 1 && ranks_sharing_cpus >= 1, "cpus ", cpus_available, ", ranks ",
                ranks_sharing_cpus);
  if (requested_threads > 0) return {requested_threads, "dist.threads"};
  if (slurm_cpus_per_task) {
    auto cpus = parse_integer(*slurm_cpus_per_task, 1, 1 << 20);
    ATROUS_CHECK(cpus.has_value(), "environment variable SLURM_CPUS_PER_TASK='", *slurm_cpus_per_task,
                 "' is not a positive integer; fix #SBATCH --cpus-per-task, unset the variable, "
                 "or set --dist.threads");
    return {static_cast<int>(*cpus), "SLURM_CPUS_PER_TASK=" + *slurm_cpus_per_task};
  }
  int threads = std::max(1, cpus_available / ranks_sharing_cpus);
  return {threads, to_text(cpus_available, " cpus / ", ranks_sharing_cpus, " ranks sharing them")};
}

}  // namespace atrous::distributed
