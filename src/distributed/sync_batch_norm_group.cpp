#include "atrous/distributed/sync_batch_norm_group.h"

#include <algorithm>
#include <cctype>

#include "atrous/build_info.h"
#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/distributed/blocking_deadline.h"
#include "atrous/distributed/mpi_check.h"
#include "atrous/distributed/mpi_comm.h"
#include "atrous/distributed/mpi_communicator.h"
#include "atrous/distributed/nccl_communicator.h"
#include "atrous/distributed/world.h"

namespace atrous::distributed {
namespace {

constexpr const char* option_name = "dist.sync_bn_group";
constexpr const char* allowed = "all, node or a number of ranks > 0 that divides the job's ranks";

}  // namespace

SyncBatchNormGroup SyncBatchNormGroup::parse(const std::string& text) {
  if (text == "all") return {Kind::all, 0};
  if (text == "node") return {Kind::node, 0};
  const bool digits = !text.empty() && text.size() <= 9 &&
                      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
  ATROUS_CHECK_OPTION(digits && std::stoi(text) > 0, option_name, text, allowed);
  return {Kind::ranks, std::stoi(text)};
}

std::string SyncBatchNormGroup::text() const {
  switch (kind) {
    case Kind::all:
      return "all";
    case Kind::node:
      return "node";
    case Kind::ranks:
      return std::to_string(ranks);
  }
  throw InternalError("unknown batch-norm group", ATROUS_HERE);
}

void SyncBatchNormOptions::declare(OptionTable& table, SyncBatchNormOptions& options) {
  table.add("dist.sync_bn", &options.enabled, true,
            "batch norm over the samples of several ranks (SyncBatchNorm; which ranks: dist.sync_bn_group)",
            "true or false");
  table.add("dist.sync_bn_group", &options.group, std::string("all"),
            "the ranks a synchronised batch norm spans: all (exactly one big batch), node (the ranks of each "
            "node), or N (blocks of N consecutive ranks)",
            allowed);
}

void SyncBatchNormOptions::validate(int world_size) const {
  sync_batch_norm_group_leader(parsed_group(), 0, world_size, 0);  // checks the block size
}

SyncBatchNormGroup SyncBatchNormOptions::parsed_group() const {
  return SyncBatchNormGroup::parse(group);
}

int sync_batch_norm_group_leader(const SyncBatchNormGroup& group, int rank, int world_size,
                                 int first_rank_on_node) {
  switch (group.kind) {
    case SyncBatchNormGroup::Kind::all:
      return 0;
    case SyncBatchNormGroup::Kind::node:
      return first_rank_on_node;
    case SyncBatchNormGroup::Kind::ranks:
      ATROUS_CHECK_OPTION(
          world_size % group.ranks == 0, option_name, group.ranks,
          to_text("a number of ranks that divides the job's ", world_size, " ranks (or all or node)"));
      return rank - rank % group.ranks;
  }
  throw InternalError("unknown batch-norm group", ATROUS_HERE);
}

std::unique_ptr<Communicator> make_batch_norm_communicator(const World& world,
                                                           const SyncBatchNormOptions& sync_bn,
                                                           CommunicatorOptions options) {
  options.timeout_s = world.timeout_s();
  const SyncBatchNormGroup group = sync_bn.parsed_group();
  if (!sync_bn.enabled || world.size() == 1) return nullptr;
  int first_rank_on_node = 0;
  const int rank = world.rank();
  const ScopedBlockingCall deadline("forming the batch-norm groups (MPI_Allreduce, MPI_Comm_split)");
  ATROUS_MPI_CHECK(MPI_Allreduce(&rank, &first_rank_on_node, 1, MPI_INT, MPI_MIN, world.node_comm()));
  const int leader = sync_batch_norm_group_leader(group, rank, world.size(), first_rank_on_node);
  MPI_Comm split = MPI_COMM_NULL;
  ATROUS_MPI_CHECK(MPI_Comm_split(world.comm(), leader, rank, &split));
  const MpiComm group_comm(split);
  if (group_comm.size() == 1) return nullptr;
#if ATROUS_HAS_NCCL
  if (world.device().is_cuda())
    return std::make_unique<NcclCommunicator>(group_comm.get(), world.device().index(), options);
#endif
  return std::make_unique<MpiCommunicator>(group_comm.get(), options, MpiProgress::calling_thread);
}

}  // namespace atrous::distributed
