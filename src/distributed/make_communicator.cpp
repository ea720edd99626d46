#include "atrous/distributed/make_communicator.h"

#include "atrous/distributed/mpi_communicator.h"
#include "atrous/distributed/nccl_communicator.h"

namespace atrous::distributed {

std::unique_ptr<Communicator> make_communicator(const World& world, CommunicatorOptions options) {
  options.timeout_s = world.timeout_s();
#if ATROUS_HAS_NCCL
  if (world.device().is_cuda())
    return std::make_unique<NcclCommunicator>(world.comm(), world.device().index(), options);
#endif
  return std::make_unique<MpiCommunicator>(world.comm(), options);
}

}  // namespace atrous::distributed
