#pragma once
// The communicator for this rank's device: NCCL when the rank runs on a CUDA device and the build
// has NCCL, MPI otherwise. Collective over the world. Its timeout is the world's (dist.timeout_s, an
// option of every command), whatever options.timeout_s says.

#include <memory>

#include "atrous/distributed/communicator.h"
#include "atrous/distributed/world.h"

namespace atrous::distributed {

std::unique_ptr<Communicator> make_communicator(const World& world, CommunicatorOptions options);

}  // namespace atrous::distributed
