#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/distributed/mpi_communicator.h"
#include "mpi_test_world.h"

namespace atrous::distributed {
namespace {

using atrous::test_support::test_communicator;
using atrous::test_support::test_world;

// Rank r contributes (r + 1) * pattern, pattern = i % 17 + 1: small integers, exact in every dtype,
// so sum, average, max and min have closed forms.
at::Tensor pattern(int64_t count, at::ScalarType dtype) {
  return (at::arange(count, at::kLong) % 17 + 1).to(dtype);
}

double expected_factor(ReduceOp op, int size) {
  switch (op) {
    case ReduceOp::sum:
      return size * (size + 1) / 2.0;
    case ReduceOp::average:
      return (size + 1) / 2.0;
    case ReduceOp::max:
      return size;
    case ReduceOp::min:
      return 1;
  }
  return 0;
}

struct Case {
  at::ScalarType dtype;
  int64_t count;
};

TEST(MpiCommunicator, AllreduceMatchesClosedFormsForEveryDtypeOpAndSize) {
  MpiCommunicator& comm = test_communicator();
  const int size = comm.size();
  // From one element to more than two 25 MiB gradient buckets.
  std::vector<Case> cases;
  for (auto dtype : {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16})
    for (int64_t count : {1, 7, 1000, 262147}) cases.push_back({dtype, count});
  cases.push_back({at::kFloat, 2 * 25 * 1024 * 1024 / 4 + 5});
  for (const Case& c : cases) {
    const at::Tensor base = pattern(c.count, c.dtype);  // exact in every dtype, so compare in it
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::average, ReduceOp::max, ReduceOp::min}) {
      at::Tensor values = base * (comm.rank() + 1);
      comm.allreduce(values, op)->wait();
      at::Tensor expected = base * expected_factor(op, size);
      EXPECT_TRUE(values.equal(expected))
          << reduce_op_name(op) << " of " << c.count << " " << c.dtype << ": max error "
          << (values.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>();
    }
  }
  for (auto dtype : {at::kInt, at::kLong, at::kByte}) {
    at::Tensor values = pattern(1000, dtype) * (comm.rank() + 1);
    comm.allreduce(values, ReduceOp::sum)->wait();
    EXPECT_TRUE(
        values.equal(pattern(1000, dtype) * static_cast<int64_t>(expected_factor(ReduceOp::sum, size))))
        << dtype;
  }
}

TEST(MpiCommunicator, ManyOutstandingOperationsCompleteInOrder) {
  MpiCommunicator& comm = test_communicator();
  std::vector<at::Tensor> tensors;
  std::vector<WorkHandle> works;
  for (int i = 0; i < 20; ++i) {
    tensors.push_back(at::full({100 + i}, static_cast<double>(i + comm.rank()), at::kDouble));
    works.push_back(comm.allreduce(tensors.back(), ReduceOp::sum));
  }
  for (auto& work : works) work->wait();
  const double ranks_sum = comm.size() * (comm.size() - 1) / 2.0;
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(tensors[i].equal(at::full({100 + i}, i * comm.size() + ranks_sum, at::kDouble))) << i;
}

TEST(MpiCommunicator, BroadcastFromTheLastRank) {
  MpiCommunicator& comm = test_communicator();
  const int root = comm.size() - 1;
  at::Tensor values = at::full({1000}, static_cast<float>(comm.rank()), at::kFloat);
  comm.broadcast(values, root)->wait();
  EXPECT_TRUE(values.equal(at::full({1000}, static_cast<float>(root), at::kFloat)));
}

TEST(MpiCommunicator, AllgatherPlacesRankRAtR) {
  MpiCommunicator& comm = test_communicator();
  at::Tensor input = at::arange(3, at::kLong) + 10 * comm.rank();
  at::Tensor output = at::zeros({3 * comm.size()}, at::kLong);
  comm.allgather(input, output)->wait();
  at::Tensor position = at::arange(3 * comm.size(), at::kLong);
  at::Tensor expected = position % 3 + 10 * at::div(position, 3, "floor");
  EXPECT_TRUE(output.equal(expected)) << output;
  comm.barrier()->wait();
}

TEST(MpiCommunicator, RejectsBadArgumentsBeforeCommunicating) {
  MpiCommunicator& comm = test_communicator();
  EXPECT_THROW(comm.allreduce(at::zeros({4, 4}).t(), ReduceOp::sum), InternalError);
  EXPECT_THROW(comm.allreduce(at::zeros({4}, at::kLong), ReduceOp::average), InternalError);
  EXPECT_THROW(comm.broadcast(at::zeros({4}), comm.size()), InternalError);
  EXPECT_THROW(comm.allgather(at::zeros({4}), at::zeros({4 * comm.size() + 1})), InternalError);
  CommunicatorOptions bad;
  bad.timeout_s = 0;
  EXPECT_THROW(bad.validate(), OptionError);
  comm.barrier()->wait();  // every rank still in step
}

}  // namespace
}  // namespace atrous::distributed
