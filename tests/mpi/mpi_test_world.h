#pragma once
// The World, and an MPI communicator over it, that the MPI test runner (mpi_test_main.cpp) brings
// up once for the whole process and tears down before MPI is finalised.

#include "atrous/dist/mpi_communicator.h"
#include "atrous/dist/world.h"

namespace atrous::test_support {

const dist::World& test_world();
dist::MpiCommunicator& test_communicator();

}  // namespace atrous::test_support
