#include "atrous/train/sgd_momentum.h"

#include <ATen/ATen.h>

#include <cmath>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/core/tensor_layout.h"
#include "atrous/train/sgd_array_update.h"

namespace atrous::train {
namespace {

// `tensor` is a float32 CPU array laid out like `like` (core/tensor_layout.h): dense, contiguous or
// channels-last alike, so that element i of one is element i of the other in memory.
bool is_float_cpu_array_like(const at::Tensor& tensor, const at::Tensor& like) {
  return tensor.device().is_cpu() && tensor.scalar_type() == at::kFloat &&
         tensor.is_non_overlapping_and_dense() && same_layout(tensor, like);
}

}  // namespace

void SgdMomentum::step(double lr) {
  at::NoGradGuard no_grad;
  std::vector<const OptimizedParameter*> others;
  for (const auto& parameter : parameters_) {
    const at::Tensor& grad = parameter.tensor.grad();
    if (grad.defined() && !step_in_one_pass(parameter, grad, lr)) others.push_back(&parameter);
  }
  if (!others.empty()) step_as_lists(others, lr);
  count_step();
}

void SgdMomentum::step_as_lists(const std::vector<const OptimizedParameter*>& others, double lr) {
  const size_t n = others.size();
  // d = (g + weight_decay * w) * multiplier, for the decayed and the other parameters apart.
  std::vector<at::Tensor> d(n);
  for (const bool decayed : {true, false}) {
    std::vector<size_t> where;
    std::vector<at::Tensor> grads, weights;
    std::vector<at::Scalar> multipliers;
    for (size_t i = 0; i < n; ++i) {
      if ((others[i]->decay && weight_decay_ > 0) != decayed) continue;
      where.push_back(i);
      grads.push_back(others[i]->tensor.grad());
      weights.push_back(others[i]->tensor);
      multipliers.emplace_back(others[i]->multiplier);
    }
    if (where.empty()) continue;
    std::vector<at::Tensor> values;
    if (decayed) {
      values = at::_foreach_add(grads, weights, weight_decay_);
      std::vector<at::Tensor> scaled;  // most decayed weights have multiplier 1: no pass for them
      std::vector<at::Scalar> factors;
      for (size_t k = 0; k < where.size(); ++k)
        if (others[where[k]]->multiplier != 1.0)
          scaled.push_back(values[k]), factors.push_back(multipliers[k]);
      if (!scaled.empty()) at::_foreach_mul_(scaled, factors);
    } else {
      values = at::_foreach_mul(grads, multipliers);  // d is a new tensor either way
    }
    for (size_t k = 0; k < where.size(); ++k) d[where[k]] = std::move(values[k]);
  }
  // v = momentum * v + d, or v = d in a parameter's first step.
  std::vector<at::Tensor> velocities(n), carried, added;
  for (size_t i = 0; i < n; ++i) {
    if (at::Tensor* velocity = find_slot("velocity", *others[i])) {
      carried.push_back(*velocity);
      added.push_back(d[i]);
      velocities[i] = *velocity;
    } else {  // laid out as the parameter, whatever layout its gradient came in
      velocities[i] = set_slot("velocity", *others[i], at::empty_like(others[i]->tensor).copy_(d[i]));
    }
  }
  if (!carried.empty()) {
    at::_foreach_mul_(carried, options_.momentum);
    at::_foreach_add_(carried, added);
  }
  // w = w - lr * (nesterov ? d + momentum * v : v)
  std::vector<at::Tensor> weights;
  for (const OptimizedParameter* parameter : others) weights.push_back(parameter->tensor);
  if (options_.nesterov) {
    at::_foreach_add_(d, velocities, options_.momentum);
    at::_foreach_add_(weights, d, -lr);
  } else {
    at::_foreach_add_(weights, velocities, -lr);
  }
}

bool SgdMomentum::step_in_one_pass(const OptimizedParameter& parameter, const at::Tensor& grad, double lr) {
  const at::Tensor& w = parameter.tensor;
  at::Tensor* velocity = find_slot("velocity", parameter);
  const bool first = velocity == nullptr;
  if (!is_float_cpu_array_like(w, w) || !is_float_cpu_array_like(grad, w) ||
      (!first && !is_float_cpu_array_like(*velocity, w)))
    return false;
  if (first) velocity = &set_slot("velocity", parameter, at::empty_like(w));
  const bool decay = parameter.decay && weight_decay_ > 0;
  const SgdArrayUpdate update{float(decay ? weight_decay_ : 0.0),
                              float(parameter.multiplier),
                              float(options_.momentum),
                              float(lr),
                              options_.nesterov,
                              first};
  apply_sgd_update(update, w.data_ptr<float>(), grad.data_ptr<float>(), velocity->data_ptr<float>(),
                   w.numel());
  // Written through raw pointers: bump the version counters that ATen's in-place operators would.
  w.unsafeGetTensorImpl()->bump_version();
  velocity->unsafeGetTensorImpl()->bump_version();
  return true;
}

std::map<std::string, at::Tensor> SgdMomentum::velocity() const {
  std::map<std::string, at::Tensor> velocity;
  for (const auto& [key, tensor] : state().tensors) velocity[key.substr(key.find('/') + 1)] = tensor;
  return velocity;
}

void SgdMomentum::load_velocity(const std::map<std::string, at::Tensor>& velocity) {
  OptimizerState state{name(), steps(), {}};
  for (const auto& [parameter, tensor] : velocity) state.tensors["velocity/" + parameter] = tensor;
  load_state(state);
}

}  // namespace atrous::train
