#include "atrous/distributed/sync_batch_norm.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "atrous/core/error.h"

namespace atrous::distributed {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Every dimension but the channels'.
std::vector<int64_t> reduced_dims(const at::Tensor& input) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  return dims;
}

// [1, C, 1, ...] so that a per-channel vector broadcasts over the input.
at::Tensor per_channel(const at::Tensor& vector, const at::Tensor& input) {
  std::vector<int64_t> shape(input.dim(), 1);
  shape[1] = input.size(1);
  return vector.reshape(shape);
}

struct GlobalStatistics {
  at::Tensor mean, var;  // [C] float64, biased variance
  double total = 0;
};

GlobalStatistics gather_statistics(const at::Tensor& input, Communicator& comm) {
  const int64_t channels = input.size(1);
  const int64_t count = channels > 0 ? input.numel() / channels : 0;
  // On the input's device: on GPUs the statistics travel through NCCL, with no host round trip.
  const at::TensorOptions float64 = input.options().dtype(at::kDouble);
  at::Tensor mine = at::zeros({1 + 2 * channels}, float64);
  mine.narrow(0, 0, 1).fill_(static_cast<double>(count));
  if (count > 0) {
    at::Tensor x = input.to(at::kDouble);
    mine.narrow(0, 1, channels).copy_(x.mean(reduced_dims(input)));
    mine.narrow(0, 1 + channels, channels).copy_(x.var(reduced_dims(input), /*unbiased=*/false));
  }
  at::Tensor all = at::empty({comm.size(), 1 + 2 * channels}, float64);
  comm.allgather(mine, all)->wait();
  at::Tensor counts = all.select(1, 0).unsqueeze(1);  // [ranks, 1]
  const double total = counts.sum().item<double>();
  ATROUS_CHECK(total > 0, "batch norm over an empty global batch: every rank has 0 samples");
  at::Tensor means = all.narrow(1, 1, channels), vars = all.narrow(1, 1 + channels, channels);
  at::Tensor mean = (counts * means).sum(0) / total;
  at::Tensor var = (counts * (vars + (means - mean).square())).sum(0) / total;
  return {mean, var, total};
}

class SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight,
                            const at::Tensor& bias, const BatchNormState* state, Communicator* comm) {
    GlobalStatistics stats = gather_statistics(input, *comm);
    const at::ScalarType dtype = input.scalar_type();
    at::Tensor mean = stats.mean.to(dtype), invstd = (stats.var + state->eps).rsqrt().to(dtype);
    if (state->running_mean.defined()) {
      at::NoGradGuard no_grad;
      const double unbiased = stats.total > 1 ? stats.total / (stats.total - 1) : 1.0;
      state->running_mean.mul_(1 - state->momentum).add_(stats.mean.to(dtype), state->momentum);
      state->running_var.mul_(1 - state->momentum).add_((stats.var * unbiased).to(dtype), state->momentum);
    }
    at::Tensor normalised = (input - per_channel(mean, input)) * per_channel(invstd, input);
    at::Tensor output = normalised;
    if (weight.defined()) output = output * per_channel(weight, input) + per_channel(bias, input);
    ctx->save_for_backward({input, weight, mean, invstd});
    ctx->saved_data["total"] = stats.total;
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(comm);
    return output;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor &input = saved[0], &weight = saved[1], &mean = saved[2], &invstd = saved[3];
    const double total = ctx->saved_data["total"].toDouble();
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    const at::Tensor& dy = grad_outputs[0];
    const int64_t channels = input.size(1);
    const auto dims = reduced_dims(input);

    at::Tensor xmu = input - per_channel(mean, input);
    at::Tensor sums = at::cat({dy.sum(dims), (dy * xmu).sum(dims)}).to(at::kDouble).contiguous();
    at::Tensor local_sums = sums.clone();
    comm->allreduce(sums, ReduceOp::sum)->wait();
    at::Tensor sum_dy = sums.narrow(0, 0, channels).to(input.scalar_type());
    at::Tensor sum_dy_xmu = sums.narrow(0, channels, channels).to(input.scalar_type());

    at::Tensor scale = weight.defined() ? invstd * weight : invstd;
    at::Tensor grad_input =
        per_channel(scale, input) * (dy - per_channel(sum_dy / total, input) -
                                     xmu * per_channel(invstd.square() * sum_dy_xmu / total, input));
    at::Tensor grad_weight, grad_bias;
    if (weight.defined()) {
      grad_weight = local_sums.narrow(0, channels, channels).to(input.scalar_type()) * invstd;
      grad_bias = local_sums.narrow(0, 0, channels).to(input.scalar_type());
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
