#pragma once
// The communicator for this rank's device: NCCL when the rank runs on a CUDA device and the build
// has NCCL, MPI otherwise. Collective over the world.

#include <memory>

#include "atrous/dist/communicator.h"
#include "atrous/dist/world.h"

namespace atrous::dist {

std::unique_ptr<Communicator> make_communicator(const World& world, const CommunicatorOptions& options);

}  // namespace atrous::dist
