#include "atrous/train/optimizer.h"

#include <ATen/ATen.h>

#include <cmath>
#include <set>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/core/tensor_layout.h"
#include "atrous/model/backbone_registry.h"
#include "atrous/model/conv2d.h"
#include "atrous/model/deeplab.h"
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

void SgdOptions::declare(OptionTable& table, SgdOptions& options) {
  table.add("optim.momentum", &options.momentum, 0.9, "SGD momentum", "a number in [0, 1)");
  table.add("optim.nesterov", &options.nesterov, false, "Nesterov momentum", "true or false");
  std::string defaults;
  for (const model::BackboneEntry& backbone : model::backbone_registry())
    defaults += to_text(defaults.empty() ? "" : ", ", backbone.name, " ", backbone.default_weight_decay);
  table.add(
      "optim.weight_decay", &options.weight_decay, -1.0,
      "L2 weight decay of convolution weights; < 0: the backbone's default as TF DeepLab (" + defaults + ")",
      "a number (< 0 for the default)");
  table.add("optim.bias_multiplier", &options.bias_multiplier, 2.0,
            "gradient multiplier of convolution biases", "a number >= 0");
  table.add("optim.last_layer_gradient_multiplier", &options.last_layer_gradient_multiplier, 1.0,
            "gradient multiplier of the logits layer", "a number >= 0");
}

std::vector<OptimizedParameter> deeplab_parameters(model::DeepLabImpl& net, const SgdOptions& options) {
  std::set<std::string> conv_biases;
  for (const auto& item : net.named_modules("", /*include_self=*/false))
    if (auto* conv = dynamic_cast<model::Conv2dImpl*>(item.value().get()); conv && conv->spec().bias)
      conv_biases.insert(item.key() + ".bias");
  const std::vector<std::string> logits = net.logits_prefixes();
  std::vector<OptimizedParameter> parameters;
  for (const auto& item : net.named_parameters()) {
    if (!item.value().requires_grad()) continue;
    OptimizedParameter parameter{item.key(), item.value(), item.value().dim() > 1, 1.0};
    if (conv_biases.count(item.key())) parameter.multiplier *= options.bias_multiplier;
    for (const auto& prefix : logits)
      if (item.key().rfind(prefix, 0) == 0) parameter.multiplier *= options.last_layer_gradient_multiplier;
    parameters.push_back(parameter);
  }
  return parameters;
}

SgdMomentum::SgdMomentum(std::vector<OptimizedParameter> parameters, const SgdOptions& options,
                         double weight_decay)
    : parameters_(std::move(parameters)), options_(options), weight_decay_(weight_decay) {
  ATROUS_CHECK_OPTION(options.momentum >= 0 && options.momentum < 1, "optim.momentum", options.momentum,
                      "a number in [0, 1)");
  ATROUS_CHECK_OPTION(options.bias_multiplier >= 0 && std::isfinite(options.bias_multiplier),
                      "optim.bias_multiplier", options.bias_multiplier, "a finite number >= 0");
  ATROUS_CHECK_OPTION(
      options.last_layer_gradient_multiplier >= 0 && std::isfinite(options.last_layer_gradient_multiplier),
      "optim.last_layer_gradient_multiplier", options.last_layer_gradient_multiplier, "a finite number >= 0");
  // NaN compares false with everything: it must not pass for "< 0, the default".
  ATROUS_CHECK_OPTION(std::isfinite(options.weight_decay), "optim.weight_decay", options.weight_decay,
                      "a finite number (< 0 for the default)");
  ATROUS_ASSERT(weight_decay >= 0, "weight decay ", weight_decay);
}

void SgdMomentum::step(double lr) {
  at::NoGradGuard no_grad;
  std::vector<const OptimizedParameter*> others;
  for (const auto& parameter : parameters_) {
    const at::Tensor& grad = parameter.tensor.grad();
    if (grad.defined() && !step_in_one_pass(parameter, grad, lr)) others.push_back(&parameter);
  }
  if (!others.empty()) step_as_lists(others, lr);
}

at::Tensor* SgdMomentum::velocity_of(const OptimizedParameter& parameter) {
  auto found = velocity_.find(parameter.name);
  if (found == velocity_.end()) return nullptr;
  at::Tensor& velocity = found->second;
  if (parameter.tensor.is_non_overlapping_and_dense() && !same_layout(velocity, parameter.tensor))
    velocity = at::empty_like(parameter.tensor).copy_(velocity);
  return &velocity;
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
    if (at::Tensor* velocity = velocity_of(*others[i])) {
      carried.push_back(*velocity);
      added.push_back(d[i]);
      velocities[i] = *velocity;
    } else {  // laid out as the parameter, whatever layout its gradient came in
      velocities[i] =
          velocity_.emplace(others[i]->name, at::empty_like(others[i]->tensor).copy_(d[i])).first->second;
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
  at::Tensor* velocity = velocity_of(parameter);
  const bool first = velocity == nullptr;
  if (!is_float_cpu_array_like(w, w) || !is_float_cpu_array_like(grad, w) ||
      (!first && !is_float_cpu_array_like(*velocity, w)))
    return false;
  if (first) velocity = &velocity_.emplace(parameter.name, at::empty_like(w)).first->second;
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

void SgdMomentum::zero_grad() {
  std::vector<at::Tensor> grads;
  for (auto& parameter : parameters_)
    if (parameter.tensor.grad().defined()) grads.push_back(parameter.tensor.grad());
  if (!grads.empty()) at::_foreach_zero_(grads);  // in place: gradients that are bucket views stay so
}

void SgdMomentum::load_velocity(const std::map<std::string, at::Tensor>& velocity) {
  velocity_.clear();
  for (const auto& [name, tensor] : velocity) {
    const at::Tensor* target = nullptr;
    for (const auto& parameter : parameters_)
      if (parameter.name == name) target = &parameter.tensor;
    if (target == nullptr)
      throw UserError(
          to_text("checkpoint has optimizer state for '", name, "', not a parameter of this model"),
          ATROUS_HERE);
    if (tensor.sizes() != target->sizes())
      throw UserError(to_text("checkpoint has optimizer state of shape ", tensor.sizes(), " for '", name,
                              "', whose shape is ", target->sizes(),
                              "; resume with the model the checkpoint was trained with"),
                      ATROUS_HERE);
    // Checkpoints hold contiguous CPU tensors; the velocity lives where and as its parameter does.
    velocity_[name] = at::empty_like(*target).copy_(tensor);
  }
}

}  // namespace atrous::train
