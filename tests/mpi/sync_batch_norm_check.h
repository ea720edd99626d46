#pragma once
// The SyncBatchNorm check that the CPU (MPI) and GPU (NCCL) tests share: every rank of the job
// normalises its share of one global batch with sync_batch_norm on `device` through `comm`; one
// process computes at::batch_norm on the whole batch on the CPU as the reference. Outputs, input
// gradients, running statistics and (summed over ranks) weight and bias gradients must agree.
// sizes[r]: rank r's sample count (uneven counts and a rank with none included by the callers).
// seed: the global batch's; groups of ranks that must not see each other's samples use different seeds.
// format: the layout of this rank's input (channels-last takes the kernels' other path).
// dtype: this rank's input dtype; bf16 (train.precision) is normalised with float32 statistics.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "atrous/distributed/communicator.h"
#include "atrous/distributed/sync_batch_norm.h"

namespace atrous::test_support {

inline double max_abs_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a.cpu().to(at::kDouble) - b.cpu().to(at::kDouble)).abs().max().item<double>();
}

inline void expect_sync_batch_norm_equals_concatenated_batch(
    distributed::Communicator& comm, const std::vector<int64_t>& sizes, const at::TensorOptions& device,
    uint64_t seed = 5, at::MemoryFormat format = at::MemoryFormat::Contiguous,
    at::ScalarType dtype = at::kFloat) {
  const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  const int64_t first = std::accumulate(sizes.begin(), sizes.begin() + comm.rank(), int64_t{0});
  const int64_t mine = sizes[comm.rank()];
  at::manual_seed(seed);
  const int64_t channels = 3;
  // In bf16 both sides see the same rounded inputs; outputs and input gradients are rounded to bf16.
  at::Tensor all_inputs = (at::randn({total, channels, 4, 5}) * 3 + 1).to(dtype).to(at::kFloat);
  // bf16's 8 significant bits on values up to about 4: measured differences are below 0.012.
  const double tolerance = dtype == at::kFloat ? 1e-5 : 3e-2;
  at::Tensor output_weights = at::randn({total, channels, 4, 5});  // loss = sum(y * R)
  at::Tensor weight0 = at::rand({channels}) + 0.5, bias0 = at::randn({channels});

  // Reference: one process, the concatenated batch, on the CPU.
  at::Tensor x_ref = all_inputs.clone().requires_grad_(true);
  at::Tensor w_ref = weight0.clone().requires_grad_(true), b_ref = bias0.clone().requires_grad_(true);
  at::Tensor mean_ref = at::zeros({channels}), var_ref = at::ones({channels});
  at::Tensor y_ref = at::batch_norm(x_ref, w_ref, b_ref, mean_ref, var_ref, true, 0.1, 1e-5, false);
  (y_ref * output_weights).sum().backward();

  // This rank's share, on `device`.
  const at::TensorOptions on_device = device.dtype(at::kFloat);
  at::Tensor x =
      all_inputs.narrow(0, first, mine).to(on_device).to(dtype).contiguous(format).requires_grad_(true);
  distributed::BatchNormState state{weight0.to(on_device).requires_grad_(true),
                                    bias0.to(on_device).requires_grad_(true),
                                    at::zeros({channels}, on_device),
                                    at::ones({channels}, on_device),
                                    0.1,
                                    1e-5};
  at::Tensor y = distributed::sync_batch_norm(x, state, comm);
  EXPECT_EQ(y.scalar_type(), dtype);
  (y.to(at::kFloat) * output_weights.narrow(0, first, mine).to(on_device)).sum().backward();

  const std::string where = "sizes " + ::testing::PrintToString(sizes) + " on " + device.device().str() +
                            (format == at::MemoryFormat::ChannelsLast ? ", channels last" : "");
  EXPECT_EQ(y.device(), device.device()) << where;
  EXPECT_EQ(state.running_mean.device(), device.device()) << where;
  if (mine > 0) {
    EXPECT_LE(max_abs_difference(y, y_ref.narrow(0, first, mine)), tolerance) << where;
    EXPECT_LE(max_abs_difference(x.grad(), x_ref.grad().narrow(0, first, mine)), tolerance) << where;
  }
  EXPECT_LE(max_abs_difference(state.running_mean, mean_ref), 1e-6) << where;
  EXPECT_LE(max_abs_difference(state.running_var, var_ref), 1e-5) << where;
  // Weight and bias gradients are this rank's sums; together they are the whole batch's.
  at::Tensor parameter_gradients = at::cat({state.weight.grad(), state.bias.grad()});
  comm.allreduce(parameter_gradients, distributed::ReduceOp::sum)->wait();
  EXPECT_LE(max_abs_difference(parameter_gradients, at::cat({w_ref.grad(), b_ref.grad()})),
            dtype == at::kFloat ? 1e-4 : 0.1)  // bf16: sums of 40 rounded products, measured below 0.04
      << where;
}

// The per-rank layouts both tests use: equal, uneven (1, 2, 3, ...), and, with several ranks, one
// whose last rank has no samples.
inline std::vector<std::vector<int64_t>> batch_norm_layouts(int ranks) {
  std::vector<std::vector<int64_t>> layouts = {std::vector<int64_t>(ranks, 2), {}};
  for (int r = 0; r < ranks; ++r) layouts[1].push_back(r + 1);
  if (ranks > 1) {
    layouts.push_back(std::vector<int64_t>(ranks, 3));
    layouts.back()[ranks - 1] = 0;
  }
  return layouts;
}

}  // namespace atrous::test_support
