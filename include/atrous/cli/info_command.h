#pragma once
// `atrous info`: what this build runs on, and where every rank landed.
//
// Rank 0 prints the atrous version; the LibTorch, CUDA, NCCL, MPI and HDF5 versions and the BLAS
// in use; the MPI thread level; then one line per rank, gathered from all of them: rank, local
// rank / local size, host, intra-op threads and why, cpus, device. Run it with the same launcher
// line as a training job (mpirun, srun, sbatch) to check the job's layout before it trains.

#include "atrous/cli/command.h"

namespace atrous::cli {

class InfoCommand : public Command {
 public:
  std::string name() const override { return "info"; }
  std::string summary() const override {
    return "print the build, its libraries and every rank's host, threads and device";
  }
  void declare(OptionTable&) override {}
  int run(const CommandContext& context) override;
};

}  // namespace atrous::cli
