#pragma once
// Which ranks a synchronised batch norm normalises over (dist.sync_bn_group), and the communicator
// its collectives use.
//
//   all    every rank of the job (the default). N ranks x b samples normalise exactly as one
//          process with the N*b samples would: the N x b = 1 x N*b guarantee of data parallelism.
//   node   the ranks on this rank's node. Each node's ranks normalise as one process with that
//          node's samples would; nodes differ (as in MegDet's and composer's node-local SyncBN).
//          The collectives never leave the node.
//   N      blocks of N consecutive ranks (0..N-1, N..2N-1, ...); N must divide the number of ranks.
//          Each block normalises as one process with the block's samples would. 1 is per-rank batch
//          norm, the same as dist.sync_bn false.
// Whatever the group, the gradients are still averaged over every rank (distributed/grad_reducer.h).
//
// The batch norms get a communicator of their own over the group (make_batch_norm_communicator):
// their small collectives, which the computation waits for at once, never queue behind gradient
// buckets in flight, and over MPI they run on the calling thread (MpiProgress::calling_thread).

#include <memory>
#include <string>

#include "atrous/distributed/communicator.h"

namespace atrous {
class OptionTable;
}

namespace atrous::distributed {

class World;

struct SyncBatchNormGroup {
  enum class Kind { all, node, ranks };
  Kind kind = Kind::all;
  int ranks = 0;  // Kind::ranks: the block size

  // "all", "node" or a number > 0; anything else is an OptionError naming dist.sync_bn_group.
  static SyncBatchNormGroup parse(const std::string& text);
  std::string text() const;
};

// The lowest world rank of `rank`'s group: all -> 0, node -> first_rank_on_node, N -> rank - rank % N.
// A block size that does not divide world_size is an OptionError naming dist.sync_bn_group.
int sync_batch_norm_group_leader(const SyncBatchNormGroup& group, int rank, int world_size,
                                 int first_rank_on_node);

struct SyncBatchNormOptions {
  bool enabled = true;        // dist.sync_bn: batch norm over the ranks of a group (on more than one rank)
  std::string group = "all";  // dist.sync_bn_group

  static void declare(OptionTable& table, SyncBatchNormOptions& options);
  // OptionError for a malformed dist.sync_bn_group, or a block size that does not divide world_size.
  void validate(int world_size) const;
  SyncBatchNormGroup parsed_group() const;  // OptionError for a malformed dist.sync_bn_group
};

// Collective over the world: the communicator of this rank's group, or nullptr when batch norm
// stays local (dist.sync_bn false, or a group of this rank alone). NCCL on CUDA devices (when built
// with it), else MPI progressed by the calling thread.
std::unique_ptr<Communicator> make_batch_norm_communicator(const World& world,
                                                           const SyncBatchNormOptions& sync_bn,
                                                           CommunicatorOptions options);

}  // namespace atrous::distributed
