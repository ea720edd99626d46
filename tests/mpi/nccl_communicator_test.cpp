// The NCCL backend on real GPUs: one GPU per rank (local rank = device). Skips, saying why, where
// NCCL is not built, LibTorch has no CUDA, or the node has fewer GPUs than ranks. Compiled wherever
// NCCL is, so that a CPU-only build still type-checks them.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "atrous/build_info.h"
#include "atrous/core/error.h"
#include "atrous/distributed/nccl_communicator.h"
#include "mpi_test_world.h"
#include "nccl_test_fixture.h"

namespace atrous::distributed {
namespace {

using atrous::test_support::test_world;

#if ATROUS_HAS_NCCL
class NcclCollectives : public test_support::NcclTest {};

TEST_F(NcclCollectives, CollectivesMatchClosedForms) {
  NcclCommunicator& comm = this->comm();
  const auto cuda = gpu();
  const int n = comm.size();
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::average, ReduceOp::max, ReduceOp::min}) {
    at::Tensor values = at::arange(1000, cuda.dtype(at::kFloat)) * (comm.rank() + 1);
    comm.allreduce(values, op)->wait();
    const double factor = op == ReduceOp::sum       ? n * (n + 1) / 2.0
                          : op == ReduceOp::average ? (n + 1) / 2.0
                          : op == ReduceOp::max     ? n
                                                    : 1;
    EXPECT_TRUE(values.cpu().equal(at::arange(1000, at::kFloat) * factor)) << reduce_op_name(op);
  }
  at::Tensor root_value = at::full({10}, static_cast<float>(comm.rank()), cuda.dtype(at::kFloat));
  comm.broadcast(root_value, n - 1)->wait();
  EXPECT_TRUE(root_value.cpu().equal(at::full({10}, static_cast<float>(n - 1))));
  at::Tensor gathered = at::zeros({2 * n}, cuda.dtype(at::kLong));
  comm.allgather(at::full({2}, static_cast<int64_t>(comm.rank()), cuda.dtype(at::kLong)), gathered)->wait();
  EXPECT_TRUE(gathered.cpu().equal(at::arange(2 * n, at::kLong).div(2, "floor")));
  comm.barrier()->wait();
}
// Every wire type over sizes from one element to several MiB, against closed-form sums.
TEST_F(NcclCollectives, AllreduceOfEveryTypeAndSizeMatchesClosedForms) {
  NcclCommunicator& comm = this->comm();
  const auto cuda = gpu();
  const int n = comm.size();
  for (at::ScalarType dtype : {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16}) {
    for (int64_t size : {int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{262145}, int64_t{3} << 20}) {
      // Small integers (exact in every type): rank r holds (i mod 7) + r.
      at::Tensor values = (at::arange(size, cuda.dtype(at::kLong)).remainder(7) + comm.rank()).to(dtype);
      comm.allreduce(values, ReduceOp::sum)->wait();
      at::Tensor expected = at::arange(size, at::kLong).remainder(7) * n + n * (n - 1) / 2;
      EXPECT_TRUE(values.cpu().to(at::kLong).equal(expected)) << dtype << " x " << size;
    }
  }
}

// CPU tensors given to the NCCL communicator go through MPI, in order with the GPU collectives.
TEST_F(NcclCollectives, HostTensorsTravelThroughMpi) {
  NcclCommunicator& comm = this->comm();
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
  // A CPU input with a GPU output is a mistake, named as such.
  at::Tensor gpu_output = at::zeros({n}, cuda.dtype(at::kDouble));
  EXPECT_THROW(comm.allgather(at::zeros({1}, at::kDouble), gpu_output), InternalError);
}

#else
TEST_F(NcclCollectives, CollectivesMatchClosedForms) {
  GTEST_SKIP() << "built without NCCL";
}
#endif

}  // namespace
}  // namespace atrous::distributed
