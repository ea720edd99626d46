// The NCCL backend on real GPUs: one GPU per rank (local rank = device). Skips, saying why, where
// NCCL is not built, LibTorch has no CUDA, or the node has fewer GPUs than ranks.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "atrous/build_info.h"
#include "atrous/dist/nccl_communicator.h"
#include "mpi_test_world.h"

namespace atrous::dist {
namespace {

using atrous::test_support::test_world;

#if ATROUS_HAS_NCCL && ATROUS_TORCH_HAS_CUDA
std::string why_no_gpu() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;
  cudaGetLastError();
  if (devices < test_world().local_size())
    return to_text(devices, " GPU(s) for ", test_world().local_size(), " ranks on this node");
  return "";
}

TEST(NcclCommunicator, CollectivesMatchClosedForms) {
  const std::string reason = why_no_gpu();
  if (!reason.empty()) GTEST_SKIP() << reason;
  const World& world = test_world();
  NcclCommunicator comm(world.comm(), world.local_rank(), CommunicatorOptions{});
  const auto cuda = at::TensorOptions().device(at::kCUDA, world.local_rank());
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
#else
TEST(NcclCommunicator, CollectivesMatchClosedForms) {
  GTEST_SKIP() << (ATROUS_HAS_NCCL ? "this LibTorch has no CUDA" : "built without NCCL");
}
#endif

}  // namespace
}  // namespace atrous::dist
