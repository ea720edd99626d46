#include "atrous/train/optimizer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/core/tensor_layout.h"
#include "atrous/model/backbone_registry.h"
#include "atrous/model/conv2d.h"
#include "atrous/model/deeplab.h"
#include "atrous/train/optimizer_registry.h"

namespace atrous::train {

const ChoiceValues<AdaptationExclusion>& adaptation_exclusion_choices() {
  static const ChoiceValues<AdaptationExclusion> choices{{"bn_and_bias", AdaptationExclusion::bn_and_bias},
                                                         {"none", AdaptationExclusion::none}};
  return choices;
}

void OptimizerOptions::declare(OptionTable& table, OptimizerOptions& options) {
  table.add_choice("optim.optimizer", &options.optimizer, std::string("sgd"),
                   "the optimizer: " + optimizer_help_text(), optimizer_choices());
  table.add("optim.momentum", &options.momentum, 0.9, "momentum of sgd and lars", "a number in [0, 1)");
  table.add("optim.nesterov", &options.nesterov, false, "Nesterov momentum (sgd, lars)", "true or false");
  std::string defaults;
  for (const model::BackboneEntry& backbone : model::backbone_registry())
    defaults += to_text(defaults.empty() ? "" : ", ", backbone.name, " ", backbone.default_weight_decay);
  table.add("optim.weight_decay", &options.weight_decay, -1.0,
            "weight decay of convolution weights (L2 in the gradient for sgd and lars, decoupled for lamb); "
            "< 0: the backbone's default as TF DeepLab (" +
                defaults + ")",
            "a number <= 1 (< 0 for the default)");
  table.add("optim.bias_multiplier", &options.bias_multiplier, 2.0,
            "gradient multiplier of convolution biases", "a finite number >= 0");
  table.add("optim.last_layer_gradient_multiplier", &options.last_layer_gradient_multiplier, 1.0,
            "gradient multiplier of the logits layer", "a finite number >= 0");
  table.add("optim.lars_eta", &options.lars_eta, 0.001,
            "lars: trust coefficient eta of the layer-wise rate eta * |w| / (|g| + weight_decay * |w|)",
            "a finite number > 0");
  table.add("optim.beta1", &options.beta1, 0.9, "lamb: decay of the first moment", "a number in (0, 1)");
  table.add("optim.beta2", &options.beta2, 0.999, "lamb: decay of the second moment", "a number in (0, 1)");
  table.add("optim.eps", &options.eps, 1e-6, "lamb: the term added to the second moment's square root",
            "a finite number > 0");
  table.add_choice(
      "optim.exclude_from_adaptation", &options.exclude_from_adaptation, AdaptationExclusion::bn_and_bias,
      "lars, lamb: bn_and_bias keeps batch-norm parameters and biases out of the trust ratio and "
      "the weight decay (as MLPerf's references); none adapts and decays every tensor",
      adaptation_exclusion_choices());
  table.add("optim.max_grad_norm", &options.max_grad_norm, 0.0,
            "clip the global gradient norm (all parameters, after the allreduce and unscaling) to this; "
            "0: no clipping (the norm is logged as train/grad_norm either way)",
            "a finite number >= 0");
}

void OptimizerOptions::validate() const {
  find_optimizer(optimizer);
  ATROUS_CHECK_OPTION(momentum >= 0 && momentum < 1, "optim.momentum", momentum, "a number in [0, 1)");
  ATROUS_CHECK_OPTION(bias_multiplier >= 0 && std::isfinite(bias_multiplier), "optim.bias_multiplier",
                      bias_multiplier, "a finite number >= 0");
  ATROUS_CHECK_OPTION(last_layer_gradient_multiplier >= 0 && std::isfinite(last_layer_gradient_multiplier),
                      "optim.last_layer_gradient_multiplier", last_layer_gradient_multiplier,
                      "a finite number >= 0");
  // NaN compares false with everything: it must not pass for "< 0, the default". A decay over 1
  // flips and grows the weights each step (1e308 made them infinite at the third).
  ATROUS_CHECK_OPTION(std::isfinite(weight_decay) && weight_decay <= 1, "optim.weight_decay", weight_decay,
                      "a number <= 1 (< 0 for the default)");
  ATROUS_CHECK_OPTION(lars_eta > 0 && std::isfinite(lars_eta), "optim.lars_eta", lars_eta,
                      "a finite number > 0");
  ATROUS_CHECK_OPTION(beta1 > 0 && beta1 < 1, "optim.beta1", beta1, "a number in (0, 1)");
  ATROUS_CHECK_OPTION(beta2 > 0 && beta2 < 1, "optim.beta2", beta2, "a number in (0, 1)");
  ATROUS_CHECK_OPTION(eps > 0 && std::isfinite(eps), "optim.eps", eps, "a finite number > 0");
  ATROUS_CHECK_OPTION(max_grad_norm >= 0 && std::isfinite(max_grad_norm), "optim.max_grad_norm",
                      max_grad_norm, "a finite number >= 0 (0: no clipping)");
  ATROUS_CHECK_OPTION(!nesterov || find_optimizer(optimizer).uses_momentum, "optim.nesterov", nesterov,
                      to_text("false with optim.optimizer ", optimizer, ", which keeps no momentum"));
}

std::vector<OptimizedParameter> deeplab_parameters(model::DeepLabImpl& net, const OptimizerOptions& options) {
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

Optimizer::Optimizer(std::vector<OptimizedParameter> parameters, const OptimizerOptions& options,
                     double weight_decay)
    : parameters_(std::move(parameters)), options_(options), weight_decay_(weight_decay) {
  options.validate();
  ATROUS_ASSERT(weight_decay >= 0, "weight decay ", weight_decay);
}

void Optimizer::zero_grad() {
  std::vector<at::Tensor> grads;
  for (auto& parameter : parameters_)
    if (parameter.tensor.grad().defined()) grads.push_back(parameter.tensor.grad());
  if (!grads.empty()) at::_foreach_zero_(grads);  // in place: gradients that are bucket views stay so
}

OptimizerState Optimizer::state() const {
  return OptimizerState{name(), steps_, state_};
}

void Optimizer::save(SectionValues& out) const {
  out.set("name", name());
  out.set("steps", steps_);
  out.set("state", state_);
}

void Optimizer::restore(const SectionValues& values) {
  OptimizerState state{values.text("name"), values.integer("steps"), values.tensors("state")};
  if (state.steps < 0)
    throw UserError(
        to_text("'", values.file(), "' is not an atrous checkpoint this build reads: the optimizer's ",
                "steps (", state.steps, ") are negative"),
        ATROUS_HERE);
  try {
    load_state(state);
  } catch (const UserError& error) {
    throw UserError(to_text("resuming from ", values.file(), ": ", error.message()), ATROUS_HERE);
  }
}

void Optimizer::load_state(const OptimizerState& state) {
  if (state.optimizer != name())
    throw UserError(to_text("the checkpoint's optimizer state was written by optim.optimizer ",
                            state.optimizer, ", and this run uses ", name(),
                            "; their states do not convert. Resume with "
                            "optim.optimizer ",
                            state.optimizer, ", or start the new optimizer in a new train.run_dir"),
                    ATROUS_HERE);
  const std::vector<std::string> known = slots();
  std::map<std::string, at::Tensor> loaded;
  for (const auto& [key, tensor] : state.tensors) {
    const size_t slash = key.find('/');
    const std::string slot = slash == std::string::npos ? std::string() : key.substr(0, slash);
    if (std::find(known.begin(), known.end(), slot) == known.end())
      throw UserError(to_text("checkpoint has optimizer state '", key, "', not a slot of ", name(), " (",
                              choice_list_text(known), ")"),
                      ATROUS_HERE);
    const std::string parameter_name = key.substr(slash + 1);
    const at::Tensor* target = nullptr;
    for (const auto& parameter : parameters_)
      if (parameter.name == parameter_name) target = &parameter.tensor;
    if (target == nullptr)
      throw UserError(
          to_text("checkpoint has optimizer state for '", parameter_name, "', not a parameter of this model"),
          ATROUS_HERE);
    if (tensor.sizes() != target->sizes())
      throw UserError(to_text("checkpoint has optimizer state of shape ", tensor.sizes(), " for '",
                              parameter_name, "', whose shape is ", target->sizes(),
                              "; resume with the model the checkpoint was trained with"),
                      ATROUS_HERE);
    // Checkpoints hold contiguous CPU tensors; the state lives where and as its parameter does.
    loaded[key] = at::empty_like(*target).copy_(tensor);
  }
  ATROUS_CHECK(state.steps >= 0, "the checkpoint's optimizer step count ", state.steps, " is negative");
  state_ = std::move(loaded);
  steps_ = state.steps;
}

int64_t Optimizer::state_bytes() const {
  int64_t bytes = 0;
  for (const auto& parameter : parameters_)
    bytes += parameter.tensor.numel() * int64_t(parameter.tensor.element_size());
  return bytes * int64_t(slots().size());
}

at::Tensor* Optimizer::find_slot(const std::string& slot, const OptimizedParameter& parameter) {
  auto found = state_.find(slot + "/" + parameter.name);
  if (found == state_.end()) return nullptr;
  at::Tensor& value = found->second;
  if (parameter.tensor.is_non_overlapping_and_dense() && !same_layout(value, parameter.tensor))
    value = at::empty_like(parameter.tensor).copy_(value);
  return &value;
}

at::Tensor& Optimizer::slot_or_zeros(const std::string& slot, const OptimizedParameter& parameter) {
  if (at::Tensor* value = find_slot(slot, parameter)) return *value;
  return state_[slot + "/" + parameter.name] = at::zeros_like(parameter.tensor);
}

at::Tensor& Optimizer::set_slot(const std::string& slot, const OptimizedParameter& parameter,
                                const at::Tensor& value) {
  at::Tensor& stored = state_[slot + "/" + parameter.name];
  stored = value.is_non_overlapping_and_dense() && same_layout(value, parameter.tensor)
               ? value
               : at::empty_like(parameter.tensor).copy_(value);
  return stored;
}

}  // namespace atrous::train
