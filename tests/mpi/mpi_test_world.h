#pragma once
// The World, and an MPI communicator over it, that the MPI test runner (mpi_test_main.cpp) brings
// up once for the whole process and tears down before MPI is finalised.

#include <string>

#include "atrous/distributed/mpi_communicator.h"
#include "atrous/distributed/world.h"

namespace atrous::test_support {

const distributed::World& test_world();
distributed::MpiCommunicator& test_communicator();

// Empty when every rank of this node has a GPU of its own (device = local rank) and LibTorch can
// use it; else why not, for GTEST_SKIP().
std::string why_no_gpu_per_rank();

}  // namespace atrous::test_support
