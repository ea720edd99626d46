// The NCCL backend on real GPUs: one GPU per rank (local rank = device). It runs the Communicator
// conformance tests with CUDA tensors, and its own tests of CPU tensors. Every test skips, saying
// why, where NCCL is not built, LibTorch has no CUDA, or the node has fewer GPUs than ranks.
// Compiled wherever NCCL is, so that a CPU-only build still type-checks them.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "atrous/build_info.h"
#include "atrous/core/error.h"
#include "atrous/distributed/nccl_communicator.h"
#include "communicator_conformance.h"
#include "mpi_test_world.h"
#include "nccl_test_fixture.h"

namespace atrous::test_support {
namespace {

using distributed::ReduceOp;
using distributed::WorkHandle;

#if ATROUS_HAS_NCCL
CommunicatorBackend nccl_backend() {
  return {"nccl", [] { return why_no_gpu(); },
          [](const distributed::CommunicatorOptions& options) -> std::unique_ptr<distributed::Communicator> {
            return std::make_unique<distributed::NcclCommunicator>(test_world().comm(), test_gpu(), options);
          },
          [] { return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(test_gpu())); }};
}

INSTANTIATE_TEST_SUITE_P(Nccl, CommunicatorConformance, ::testing::Values(nccl_backend()));

class NcclCollectives : public NcclTest {};

// CPU tensors given to the NCCL communicator go through MPI, in order with the GPU collectives.
TEST_F(NcclCollectives, HostTensorsTravelThroughMpi) {
  distributed::NcclCommunicator& comm = this->comm();
  const auto cuda = gpu();
  const int n = comm.size();
  at::Tensor device_values = at::full({1000}, 1.0f, cuda);
  at::Tensor host_values = at::full({3}, static_cast<int64_t>(comm.rank()), at::kLong);
  WorkHandle on_device = comm.allreduce(device_values, ReduceOp::sum);
  WorkHandle on_host = comm.allreduce(host_values, ReduceOp::max);
  on_device->wait();
  on_host->wait();
  EXPECT_TRUE(host_values.equal(at::full({3}, static_cast<int64_t>(n - 1), at::kLong)));
  EXPECT_TRUE(device_values.cpu().equal(at::full({1000}, static_cast<float>(n))));
  at::Tensor text = at::full({4}, static_cast<uint8_t>(comm.rank() + 1), at::kByte);
  comm.broadcast(text, 0)->wait();
  EXPECT_TRUE(text.equal(at::ones({4}, at::kByte)));
  at::Tensor gathered = at::zeros({n}, at::kDouble);
  comm.allgather(at::full({1}, double(comm.rank()), at::kDouble), gathered)->wait();
  EXPECT_TRUE(gathered.equal(at::arange(n, at::kDouble)));
  at::Tensor averaged = at::full({2}, static_cast<float>(comm.rank()), at::kFloat);
  comm.allreduce(averaged, ReduceOp::average)->wait();
  EXPECT_TRUE(averaged.equal(at::full({2}, (n - 1) / 2.0f)));
  // A CPU input with a GPU output is a mistake, named as such.
  at::Tensor gpu_output = at::zeros({n}, cuda.dtype(at::kDouble));
  EXPECT_THROW(comm.allgather(at::zeros({1}, at::kDouble), gpu_output), InternalError);
}

#else
TEST(Nccl, Collectives) {
  GTEST_SKIP() << "built without NCCL";
}
#endif

}  // namespace
}  // namespace atrous::test_support
