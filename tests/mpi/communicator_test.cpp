// The MPI backend runs the Communicator conformance tests over every rank of the job.
#include <gtest/gtest.h>

#include "atrous/distributed/mpi_communicator.h"
#include "communicator_conformance.h"
#include "mpi_test_world.h"

namespace atrous::test_support {
namespace {

CommunicatorBackend mpi_backend() {
  return {"mpi", [] { return std::string(); },
          [](const distributed::CommunicatorOptions& options) -> std::unique_ptr<distributed::Communicator> {
            return std::make_unique<distributed::MpiCommunicator>(test_world().comm(), options);
          },
          [] { return at::Device(at::kCPU); }};
}

INSTANTIATE_TEST_SUITE_P(Mpi, CommunicatorConformance, ::testing::Values(mpi_backend()));

}  // namespace
}  // namespace atrous::test_support
