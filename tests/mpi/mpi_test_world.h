#pragma once
// The World that the MPI test runner (mpi_test_main.cpp) brings up once for the whole process.

#include "atrous/dist/world.h"

namespace atrous::test_support {

const dist::World& test_world();

}  // namespace atrous::test_support
