// The Communicator conformance tests (communicator_conformance.h), compiled into every test binary
// that instantiates them.
#include "communicator_conformance.h"

#include <chrono>
#include <thread>
#include <vector>

#include "atrous/core/error.h"

namespace atrous::test_support {

using distributed::CommunicatorOptions;
using distributed::ReduceOp;
using distributed::WorkHandle;

void PrintTo(const CommunicatorBackend& backend, std::ostream* out) {
  *out << backend.name;
}

void CommunicatorConformance::SetUp() {
  const std::string reason = GetParam().why_unavailable();
  if (!reason.empty()) GTEST_SKIP() << reason;
  comm_ = GetParam().make(CommunicatorOptions{});
}

namespace {

const std::vector<at::ScalarType> every_dtype = {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16,
                                                 at::kInt,   at::kLong,   at::kByte};
const std::vector<ReduceOp> every_op = {ReduceOp::sum, ReduceOp::average, ReduceOp::max, ReduceOp::min};

// Rank r contributes (r + 1) * pattern, pattern = i % 17 + 1: small integers, exact in every dtype,
// so every reduction has a closed form: pattern times factor(op, size).
at::Tensor pattern(int64_t count, at::ScalarType dtype) {
  return (at::arange(count, at::kLong) % 17 + 1).to(dtype);
}

double factor(ReduceOp op, int size) {
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

at::Tensor times(const at::Tensor& tensor, double factor) {
  return at::isFloatingType(tensor.scalar_type()) ? tensor * factor : tensor * static_cast<int64_t>(factor);
}

// Runs `call`, which must throw InternalError, and returns its message.
template <class Call>
std::string internal_error_of(Call call) {
  try {
    call();
  } catch (const InternalError& error) {
    return error.message();
  }
  ADD_FAILURE() << "no InternalError";
  return "";
}

}  // namespace

TEST_P(CommunicatorConformance, AllreduceOfEveryDtypeAndOpMatchesClosedForms) {
  const int size = comm().size();
  for (at::ScalarType dtype : every_dtype) {
    for (int64_t count : {1, 7, 1000, 262147}) {
      const at::Tensor base = pattern(count, dtype);
      for (ReduceOp op : every_op) {
        if (op == ReduceOp::average && !at::isFloatingType(dtype)) continue;
        at::Tensor values = times(base, comm().rank() + 1).to(GetParam().device());
        comm().allreduce(values, op)->wait();
        const at::Tensor expected = times(base, factor(op, size));
        EXPECT_TRUE(values.cpu().equal(expected))
            << reduce_op_name(op) << " of " << count << " " << dtype << ": max error "
            << (values.cpu().to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>();
      }
    }
  }
}

TEST_P(CommunicatorConformance, AllreduceLargerThanTwoGradientBuckets) {
  const at::Tensor base = pattern(2 * 25 * 1024 * 1024 / 4 + 5, at::kFloat);
  for (ReduceOp op : every_op) {
    at::Tensor values = (base * (comm().rank() + 1)).to(GetParam().device());
    comm().allreduce(values, op)->wait();
    EXPECT_TRUE(values.cpu().equal(base * factor(op, comm().size()))) << reduce_op_name(op);
  }
}

TEST_P(CommunicatorConformance, AverageDividesTheSumByTheNumberOfRanks) {
  for (at::ScalarType dtype : {at::kFloat, at::kDouble}) {
    at::Tensor values = at::full({3}, static_cast<double>(comm().rank()), on_device(dtype));
    comm().allreduce(values, ReduceOp::average)->wait();
    EXPECT_TRUE(values.cpu().equal(at::full({3}, (comm().size() - 1) / 2.0, dtype))) << dtype;
  }
}

TEST_P(CommunicatorConformance, BroadcastFromEveryRoot) {
  for (int root = 0; root < comm().size(); ++root) {
    for (at::ScalarType dtype : {at::kFloat, at::kByte}) {
      at::Tensor values = at::full({1000}, comm().rank(), on_device(dtype));
      comm().broadcast(values, root)->wait();
      EXPECT_TRUE(values.cpu().equal(at::full({1000}, root, dtype))) << "root " << root << " " << dtype;
    }
  }
}

TEST_P(CommunicatorConformance, AllgatherPlacesRankRAtR) {
  const int size = comm().size();
  at::Tensor input = (at::arange(3, at::kLong) + 10 * comm().rank()).to(GetParam().device());
  at::Tensor output = at::zeros({size, 3}, on_device(at::kLong));
  comm().allgather(input, output)->wait();
  const at::Tensor position = at::arange(3 * size, at::kLong);
  const at::Tensor expected = (position % 3 + 10 * at::div(position, 3, "floor")).view({size, 3});
  EXPECT_TRUE(output.cpu().equal(expected)) << output;
}

TEST_P(CommunicatorConformance, BarrierWaitsForTheLastRank) {
  comm().barrier()->wait();
  const bool others_wait = comm().size() > 1;
  if (others_wait && comm().rank() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto start = std::chrono::steady_clock::now();
  WorkHandle barrier = comm().barrier();
  barrier->wait();
  EXPECT_TRUE(barrier->is_completed());
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (others_wait && comm().rank() != 0) {
    EXPECT_GE(waited, 0.15) << "left the barrier before rank 0 entered it";
  }
}

TEST_P(CommunicatorConformance, OutstandingOperationsCompleteInIssueOrder) {
  const int size = comm().size(), rank = comm().rank();
  std::vector<WorkHandle> works;
  // Twice on the same tensor: the second sums the first's result.
  at::Tensor twice = at::ones({64}, on_device(at::kDouble));
  works.push_back(comm().allreduce(twice, ReduceOp::sum));
  works.push_back(comm().allreduce(twice, ReduceOp::sum));
  std::vector<at::Tensor> sums;
  for (int i = 0; i < 20; ++i) {
    sums.push_back(at::full({100 + i}, static_cast<double>(i + rank), on_device(at::kDouble)));
    works.push_back(comm().allreduce(sums.back(), ReduceOp::sum));
  }
  at::Tensor broadcast = at::full({5}, rank, on_device(at::kInt));
  works.push_back(comm().broadcast(broadcast, size - 1));
  at::Tensor gathered = at::zeros({size}, on_device(at::kFloat));
  works.push_back(comm().allgather(at::full({1}, rank, on_device(at::kFloat)), gathered));
  works.push_back(comm().barrier());
  for (auto work = works.rbegin(); work != works.rend(); ++work) (*work)->wait();  // newest first

  EXPECT_TRUE(twice.cpu().equal(at::full({64}, double(size) * size, at::kDouble)));
  const double ranks_sum = size * (size - 1) / 2.0;
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(sums[i].cpu().equal(at::full({100 + i}, i * size + ranks_sum, at::kDouble))) << i;
  EXPECT_TRUE(broadcast.cpu().equal(at::full({5}, size - 1, at::kInt)));
  EXPECT_TRUE(gathered.cpu().equal(at::arange(size, at::kFloat)));
}

TEST_P(CommunicatorConformance, RejectsBadArgumentsBeforeCommunicating) {
  distributed::Communicator& c = comm();
  const int size = c.size();
  const auto f32 = on_device(at::kFloat);
  const auto meta = at::TensorOptions().dtype(at::kFloat).device(at::kMeta);
  EXPECT_NE(internal_error_of([&] { c.allreduce(at::Tensor(), ReduceOp::sum); }).find("undefined tensor"),
            std::string::npos);
  EXPECT_NE(internal_error_of([&] {
              c.allreduce(at::zeros({4, 4}, f32).t(), ReduceOp::sum);
            }).find("allreduce: the tensor must be contiguous"),
            std::string::npos);
  EXPECT_NE(
      internal_error_of([&] { c.allreduce(at::empty({4}, meta), ReduceOp::sum); }).find("a meta tensor"),
      std::string::npos);
  EXPECT_THROW(c.allreduce(at::zeros({4}, on_device(at::kBool)), ReduceOp::sum), InternalError);
  EXPECT_THROW(c.allreduce(at::zeros({4}, on_device(at::kLong)), ReduceOp::average), InternalError);
  EXPECT_THROW(c.broadcast(at::zeros({4}, f32), size), InternalError);
  EXPECT_THROW(c.broadcast(at::zeros({4}, f32), -1), InternalError);
  EXPECT_THROW(c.broadcast(at::empty({4}, meta), 0), InternalError);
  EXPECT_THROW(c.allgather(at::zeros({4}, f32), at::zeros({4 * size + 1}, f32)), InternalError);
  EXPECT_THROW(c.allgather(at::zeros({4}, f32), at::zeros({4 * size}, on_device(at::kDouble))),
               InternalError);
  EXPECT_THROW(c.allgather(at::zeros({4}, f32), at::empty({4 * size}, meta)), InternalError);
  EXPECT_THROW(c.allgather(at::zeros({4}, f32), at::zeros({2 * size, 2}, f32).t()), InternalError);
  c.barrier()->wait();  // every rank still in step
}

TEST_P(CommunicatorConformance, AWaitPastTheTimeoutNamesTheCollective) {
  if (comm().size() < 2) GTEST_SKIP() << "needs a second rank that joins late";
  // Rank 0 gives up after 0.3 s; the others join the collective only after 1.5 s.
  const bool impatient = comm().rank() == 0;
  CommunicatorOptions options;
  options.timeout_s = impatient ? 0.3 : 5;
  std::unique_ptr<distributed::Communicator> late = GetParam().make(options);
  at::Tensor values = at::ones({4}, on_device(at::kFloat));
  if (impatient) {
    try {
      late->allreduce(values, ReduceOp::sum)->wait();
      ADD_FAILURE() << "wait() returned although the other ranks had not joined";
    } catch (const UserError& error) {
      EXPECT_NE(error.message().find("collective #0 (allreduce(sum) of 4 float32) did not complete within "
                                     "dist.timeout_s = 0.3 s: a rank died or hangs, or the ranks issued "
                                     "collectives in different orders; "),
                std::string::npos)
          << error.message();
    }
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    try {
      late->allreduce(values, ReduceOp::sum)->wait();
    } catch (const Error&) {
      // A backend that gives up its communicator after a timeout (NCCL aborts it) fails here too.
    }
  }
  comm().barrier()->wait();  // every rank in step again, on the other communicator
}

}  // namespace atrous::test_support
