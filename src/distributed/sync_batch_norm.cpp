#include "atrous/distributed/sync_batch_norm.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "atrous/core/error.h"
#include "atrous/distributed/per_channel_combination.h"

namespace atrous::distributed {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct GlobalStatistics {
  at::Tensor mean, var;  // [C] float64, biased variance
  at::Tensor total;      // [] float64: the global sample count per channel
};

// bf16 and fp16, the dtypes of train.precision's activations.
bool is_half_precision(at::ScalarType dtype) {
  return dtype == at::kBFloat16 || dtype == at::kHalf;
}

// This rank's [count, mean (C), biased variance (C)] in float64 on the input's device: ATen's
// one-call statistics kernel (accumulating in double on the CPU) on the input as it is, whatever
// its layout; only the [C]-sized results are converted.
at::Tensor local_moments(const at::Tensor& input) {
  const int64_t channels = input.size(1);
  const int64_t count = channels > 0 ? input.numel() / channels : 0;
  const at::TensorOptions float64 = input.options().dtype(at::kDouble);
  if (count == 0) return at::zeros({1 + 2 * channels}, float64);
  // For bf16 and fp16 inputs, float32 running statistics (left unchanged: momentum 0) make ATen's
  // mixed-dtype kernel return float32 moments rather than moments rounded to the input's dtype.
  at::Tensor running_mean, running_var;
  if (is_half_precision(input.scalar_type())) {
    running_mean = at::zeros({channels}, input.options().dtype(at::kFloat));
    running_var = at::ones({channels}, input.options().dtype(at::kFloat));
  }
  auto [mean, var] = at::batch_norm_update_stats(input, running_mean, running_var, 0.0);
  return at::cat({at::full({1}, double(count), float64), mean.to(at::kDouble), var.to(at::kDouble)});
}

// All ranks' moments merged exactly in float64, on the device: no value is read by the host.
GlobalStatistics gather_statistics(const at::Tensor& input, Communicator& comm) {
  const int64_t channels = input.size(1);
  at::Tensor mine = local_moments(input);
  at::Tensor all = at::empty({comm.size(), 1 + 2 * channels}, mine.options());
  comm.allgather(mine, all, CollectivePurpose::batch_norm)->wait();
  at::Tensor counts = all.narrow(1, 0, 1);  // [ranks, 1]
  at::Tensor total = counts.sum();
  if (input.is_cpu())  // free on the CPU; on a GPU an empty global batch shows as a non-finite loss
    ATROUS_CHECK(total.item<double>() > 0, "batch norm over an empty global batch: every rank has 0 samples");
  at::Tensor means = all.narrow(1, 1, channels), vars = all.narrow(1, 1 + channels, channels);
  at::Tensor mean = (counts * means).sum(0) / total;
  at::Tensor var = (counts * (vars + (means - mean).square())).sum(0) / total;
  return {mean, var, total};
}

void update_running_statistics(const BatchNormState& state, const GlobalStatistics& stats) {
  if (!state.running_mean.defined()) return;
  at::NoGradGuard no_grad;
  const at::Tensor unbiased = stats.total / (stats.total - 1).clamp_min(1);  // 1 for a single sample
  const at::ScalarType dtype = state.running_mean.scalar_type();
  state.running_mean.mul_(1 - state.momentum).add_(stats.mean.to(dtype), state.momentum);
  state.running_var.mul_(1 - state.momentum).add_((stats.var * unbiased).to(dtype), state.momentum);
}

class SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight,
                            const at::Tensor& bias, const BatchNormState* state, Communicator* comm) {
    const GlobalStatistics stats = gather_statistics(input, *comm);
    update_running_statistics(*state, stats);
    // bf16 and fp16 inputs (train.precision) are normalised with float32 statistics, as ATen's
    // mixed-dtype batch norm expects; float32 and float64 inputs with their own dtype.
    const at::ScalarType dtype = is_half_precision(input.scalar_type()) ? at::kFloat : input.scalar_type();
    const at::Tensor mean = stats.mean.to(dtype), var = stats.var.to(dtype);
    // ATen's fused normalisation with the global statistics in place of running ones.
    at::Tensor output = input.numel() == 0
                            ? at::empty_like(input)
                            : std::get<0>(at::native_batch_norm(input, weight, bias, mean, var,
                                                                /*training=*/false, 0.0, state->eps));
    ctx->save_for_backward({input, weight, mean, var, stats.total});
    ctx->saved_data["eps"] = state->eps;
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(comm);
    return output;
  }

  // With invstd = 1 / sqrt(var + eps), a = weight * invstd and the global sums over every rank's samples
  //   sum_dy = sum(dy),  g = sum(dy * (x - mean)) * invstd  (the weight gradient of the whole batch),
  // the input gradient of the global normalisation is
  //   dx = a * (dy - sum_dy / total - (x - mean) * invstd * g / total)
  //      = a * dy - a * c * x + a * (c * mean - sum_dy / total),   c = invstd * g / total.
  // ATen's batch-norm backward, given the global mean and invstd as its saved statistics, gives this rank's
  // sum_dy and g in one pass; one allreduce of [sum_dy, g] in float64 makes them global; one more
  // pass (per_channel_combination) writes dx.
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &input = saved[0], &weight = saved[1], &mean = saved[2], &var = saved[3];
    const at::Tensor& total = saved[4];
    const double eps = ctx->saved_data["eps"].toDouble();
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    const int64_t channels = input.size(1);
    const at::Tensor dy = grad_outputs[0].contiguous(input.suggest_memory_format());

    at::Tensor local_g, local_sum_dy;
    if (input.numel() > 0) {
      const at::Tensor some_weight = weight.defined() ? weight : at::ones({channels}, mean.options());
      // Training mode with the global mean and invstd as the saved statistics: grad weight and grad
      // bias are the same sums in either mode, and CUDA's kernel insists on saved statistics.
      const at::Tensor invstd = at::rsqrt(var + eps);
      auto sums = at::native_batch_norm_backward(dy, input, some_weight, {}, {}, mean, invstd, /*train=*/true,
                                                 eps, {false, true, true});
      local_g = std::get<1>(sums);
      local_sum_dy = std::get<2>(sums);
    } else {
      local_g = at::zeros({channels}, mean.options());
      local_sum_dy = at::zeros({channels}, mean.options());
    }
    at::Tensor sums = at::cat({local_sum_dy.to(at::kDouble), local_g.to(at::kDouble)});
    comm->allreduce(sums, ReduceOp::sum, CollectivePurpose::batch_norm)->wait();
    const at::Tensor sum_dy = sums.narrow(0, 0, channels), g = sums.narrow(0, channels, channels);

    at::Tensor grad_input;
    if (input.numel() > 0) {
      const at::Tensor mean64 = mean.to(at::kDouble), invstd = (var.to(at::kDouble) + eps).rsqrt();
      const at::Tensor a = weight.defined() ? invstd * weight.to(at::kDouble) : invstd;
      const at::Tensor c = invstd * g / total;
      grad_input = per_channel_combination(a, dy, -a * c, input, a * (c * mean64 - sum_dy / total));
    } else {
      grad_input = at::zeros_like(input);
    }
    // The weight and bias gradients stay this rank's own sums (the GradReducer combines them).
    at::Tensor grad_weight, grad_bias;
    if (weight.defined()) {
      grad_weight = local_g.to(weight.scalar_type());
      grad_bias = local_sum_dy.to(weight.scalar_type());
    }
    return {grad_input, grad_weight, grad_bias, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor sync_batch_norm(const at::Tensor& input, const BatchNormState& state, Communicator& comm) {
  ATROUS_ASSERT(input.dim() >= 2, "batch norm input must be [N, C, ...], got ", input.sizes());
  ATROUS_ASSERT(state.weight.defined() == state.bias.defined(), "weight and bias go together");
  ATROUS_ASSERT(state.running_mean.defined() == state.running_var.defined(),
                "running statistics go together");
  return SyncBatchNormFunction::apply(input, state.weight, state.bias, &state, &comm);
}

}  // namespace atrous::distributed
