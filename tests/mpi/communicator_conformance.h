#pragma once
// The tests that every Communicator backend must pass, written once against the Communicator
// interface and run per backend (as PyTorch's common c10d tests are subclassed per backend):
// allreduce of every dtype and op against closed forms, broadcast from every root, allgather's
// layout, barrier, several outstanding operations, the argument checks, and the timeout.
//
// A backend joins by one line in a test binary that can run it:
//   INSTANTIATE_TEST_SUITE_P(Mpi, CommunicatorConformance, ::testing::Values(mpi_backend()));
// The instance name comes first in the test's name (Mpi/CommunicatorConformance.Barrier/0), so
// --gtest_filter=Nccl* selects the NCCL instance. The tests run on every rank of the job; a test
// that needs two ranks skips on one.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "atrous/distributed/communicator.h"

namespace atrous::test_support {

struct CommunicatorBackend {
  std::string name;
  // Empty when the backend can run here; else why not (each test then skips, saying it).
  std::function<std::string()> why_unavailable;
  // A new communicator over every rank of the job (collective: every rank calls it at once).
  std::function<std::unique_ptr<distributed::Communicator>(const distributed::CommunicatorOptions&)> make;
  // Where the tests put the tensors they give it.
  std::function<at::Device()> device;
};

void PrintTo(const CommunicatorBackend& backend, std::ostream* out);

class CommunicatorConformance : public ::testing::TestWithParam<CommunicatorBackend> {
 protected:
  void SetUp() override;

  distributed::Communicator& comm() { return *comm_; }
  at::TensorOptions on_device(at::ScalarType dtype) const {
    return at::TensorOptions().dtype(dtype).device(GetParam().device());
  }

 private:
  std::unique_ptr<distributed::Communicator> comm_;
};

}  // namespace atrous::test_support
