#pragma once
// The World, and an MPI communicator over it, that the MPI test runner (mpi_test_main.cpp) brings
// up once for the whole process and tears down before MPI is finalised.

#include <string>

#include "atrous/distributed/mpi_communicator.h"
#include "atrous/distributed/world.h"

namespace atrous::test_support {

const distributed::World& test_world();
distributed::MpiCommunicator& test_communicator();

// Empty when LibTorch can use a GPU and distributed/gpu_assignment.h gives this rank one: a GPU of
// its own (GPU <local rank>), or with ATROUS_TEST_SHARE_GPUS=1 in the environment, GPU <local rank
// mod gpus> (then NCCL needs NCCL_HOSTID set differently on each rank; tools/gpu-check does that).
// Else why not, for GTEST_SKIP().
std::string why_no_gpu();
// The GPU of this rank, when why_no_gpu() is empty.
int test_gpu();

}  // namespace atrous::test_support
