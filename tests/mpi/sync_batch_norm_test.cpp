// SyncBatchNorm on N ranks against at::batch_norm on the concatenated batch: outputs, input
// gradients, weight and bias gradients, running statistics, with uneven per-rank batch sizes.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <numeric>

#include "atrous/dist/mpi_communicator.h"
#include "atrous/dist/sync_batch_norm.h"
#include "mpi_test_world.h"

namespace atrous::dist {
namespace {

using atrous::test_support::test_world;

MpiCommunicator& communicator() {
  static MpiCommunicator comm(test_world().comm(), CommunicatorOptions{});
  return comm;
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

struct Layout {
  std::vector<int64_t> sizes;  // samples per rank
  int64_t total() const { return std::accumulate(sizes.begin(), sizes.end(), int64_t{0}); }
  int64_t first(int rank) const { return std::accumulate(sizes.begin(), sizes.begin() + rank, int64_t{0}); }
};

TEST(SyncBatchNorm, EqualsBatchNormOnTheConcatenatedBatch) {
  MpiCommunicator& comm = communicator();
  const int ranks = comm.size();
  std::vector<Layout> layouts = {{std::vector<int64_t>(ranks, 2)}, {{}}};
  for (int r = 0; r < ranks; ++r) layouts[1].sizes.push_back(r + 1);  // uneven: 1, 2, 3, ...
  layouts.push_back({std::vector<int64_t>(ranks, 3)});
  layouts.back().sizes[ranks - 1] = 0;  // a rank with no samples at all

  for (const Layout& layout : layouts) {
    at::manual_seed(5);
    const int64_t channels = 3;
    at::Tensor all_inputs = at::randn({layout.total(), channels, 4, 5}) * 3 + 1;
    at::Tensor output_weights = at::randn({layout.total(), channels, 4, 5});  // loss = sum(y * R)
    at::Tensor weight0 = at::rand({channels}) + 0.5, bias0 = at::randn({channels});

    // Reference: one process, the concatenated batch.
    at::Tensor x_ref = all_inputs.clone().requires_grad_(true);
    at::Tensor w_ref = weight0.clone().requires_grad_(true), b_ref = bias0.clone().requires_grad_(true);
    at::Tensor mean_ref = at::zeros({channels}), var_ref = at::ones({channels});
    at::Tensor y_ref = at::batch_norm(x_ref, w_ref, b_ref, mean_ref, var_ref, true, 0.1, 1e-5, false);
    (y_ref * output_weights).sum().backward();

    // This rank's share.
    const int64_t first = layout.first(comm.rank()), mine = layout.sizes[comm.rank()];
    at::Tensor x = all_inputs.narrow(0, first, mine).clone().requires_grad_(true);
    BatchNormState state{weight0.clone().requires_grad_(true),
                         bias0.clone().requires_grad_(true),
                         at::zeros({channels}),
                         at::ones({channels}),
                         0.1,
                         1e-5};
    at::Tensor y = sync_batch_norm(x, state, comm);
    (y * output_weights.narrow(0, first, mine)).sum().backward();

    const std::string where = "sizes " + ::testing::PrintToString(layout.sizes);
    if (mine > 0) {
      EXPECT_LE(max_difference(y, y_ref.narrow(0, first, mine)), 1e-5) << where;
      EXPECT_LE(max_difference(x.grad(), x_ref.grad().narrow(0, first, mine)), 1e-5) << where;
    }
    EXPECT_LE(max_difference(state.running_mean, mean_ref), 1e-6) << where;
    EXPECT_LE(max_difference(state.running_var, var_ref), 1e-5) << where;
    // Weight and bias gradients are this rank's sums; together they are the whole batch's.
    at::Tensor parameter_gradients = at::cat({state.weight.grad(), state.bias.grad()});
    comm.allreduce(parameter_gradients, ReduceOp::sum)->wait();
    EXPECT_LE(max_difference(parameter_gradients, at::cat({w_ref.grad(), b_ref.grad()})), 1e-4) << where;
  }
}

}  // namespace
}  // namespace atrous::dist
