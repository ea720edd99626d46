#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/distributed/local_communicator.h"

namespace atrous::distributed {
namespace {

TEST(LocalCommunicator, ReductionsOverOneRankKeepTheValues) {
  LocalCommunicator comm;
  EXPECT_EQ(comm.size(), 1);
  at::Tensor values = at::arange(6, at::kFloat);
  for (ReduceOp op : {ReduceOp::sum, ReduceOp::average, ReduceOp::max, ReduceOp::min}) {
    comm.allreduce(values, op)->wait();
    EXPECT_TRUE(values.equal(at::arange(6, at::kFloat))) << reduce_op_name(op);
  }
}

TEST(LocalCommunicator, AllgatherCopiesAndBroadcastComesFromRankZero) {
  LocalCommunicator comm;
  at::Tensor input = at::arange(4, at::kLong);
  at::Tensor output = at::zeros({4}, at::kLong);
  comm.allgather(input, output)->wait();
  EXPECT_TRUE(output.equal(input));
  EXPECT_NO_THROW(comm.broadcast(input, 0)->wait());
  EXPECT_THROW(comm.broadcast(input, 1), InternalError);
}

TEST(LocalCommunicator, ChecksArgumentsLikeTheRealBackends) {
  LocalCommunicator comm;
  EXPECT_THROW(comm.allreduce(at::arange(4, at::kLong), ReduceOp::average), InternalError);
  EXPECT_THROW(comm.allreduce(at::zeros({4, 4}).t(), ReduceOp::sum), InternalError);  // not contiguous
}

}  // namespace
}  // namespace atrous::distributed
