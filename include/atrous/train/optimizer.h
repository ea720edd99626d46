#pragma once
// Optimizer: what updates the weights from the averaged gradients, behind one interface, so that the
// trainer, the checkpoint and the loss scaler never name a concrete one. The implementations are
// registered in train/optimizer_registry.h (optim.optimizer): sgd (train/sgd_momentum.h), lars
// (train/lars.h) and lamb (train/lamb.h).
//
// Parameters come in one group per tensor (OptimizedParameter), each with its treatment:
//   decay       a convolution or linear weight (more than one dimension): weight decay applies; biases
//               and batch-norm parameters never decay (TF DeepLab's rule, and MLPerf's for LARS/LAMB)
//   multiplier  optim.bias_multiplier for convolution biases, optim.last_layer_gradient_multiplier for
//               the logits layer: the gradient is multiplied by it before the update
// LARS and LAMB also give a layer its own trust ratio where optim.exclude_from_adaptation allows:
// bn_and_bias (the default) adapts exactly the decayed tensors; none adapts and decays every tensor.
//
// Every optimizer reads the gradients every rank holds after the allreduce (and after unscaling and
// clipping: train/training_step.h), so norms need no collective and every rank computes the same
// update. Its state (velocities, moments, the count of applied steps) lives on each parameter's
// device, in its dtype and layout, and goes into checkpoints as their section "optimizer" (name,
// steps, state: named tensors "<slot>/<parameter>"), restored exactly, so that a resumed run continues bit
// for bit.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "atrous/core/options.h"
#include "atrous/train/checkpoint_section.h"

namespace atrous {
namespace model {
class DeepLabImpl;
}
}  // namespace atrous

namespace atrous::train {

enum class AdaptationExclusion { bn_and_bias, none };
const ChoiceValues<AdaptationExclusion>& adaptation_exclusion_choices();  // bn_and_bias, none

// optim.*: the optimizer's name and the settings of every registered optimizer; each reads its own.
struct OptimizerOptions {
  std::string optimizer = "sgd";                // optim.optimizer (train/optimizer_registry.h)
  double momentum = 0.9;                        // optim.momentum: sgd, lars
  bool nesterov = false;                        // optim.nesterov: sgd, lars
  double weight_decay = -1;                     // optim.weight_decay: < 0 = the backbone's default
  double bias_multiplier = 2.0;                 // optim.bias_multiplier
  double last_layer_gradient_multiplier = 1.0;  // optim.last_layer_gradient_multiplier
  double lars_eta = 0.001;                      // optim.lars_eta: LARS's trust coefficient
  double beta1 = 0.9;                           // optim.beta1: LAMB's first-moment decay
  double beta2 = 0.999;                         // optim.beta2: LAMB's second-moment decay
  double eps = 1e-6;                            // optim.eps: LAMB's denominator term
  AdaptationExclusion exclude_from_adaptation = AdaptationExclusion::bn_and_bias;  // optim.exclude_...
  double max_grad_norm = 0;                     // optim.max_grad_norm: 0 = no clipping

  static void declare(OptionTable& table, OptimizerOptions& options);
  // Every value in its range (OptionError naming the option); the name must be registered.
  void validate() const;
};

struct OptimizedParameter {
  std::string name;
  at::Tensor tensor;
  bool decay = false;
  double multiplier = 1.0;
};

// A DeepLab's trainable parameters with their treatment: decay for tensors of more than one
// dimension, optim.bias_multiplier for the biases of its Conv2d modules, and
// optim.last_layer_gradient_multiplier for the parameters under its logits prefixes.
std::vector<OptimizedParameter> deeplab_parameters(model::DeepLabImpl& net, const OptimizerOptions& options);

// An optimizer's state as checkpoints hold it.
struct OptimizerState {
  std::string optimizer = "sgd";              // the registered name that wrote it
  int64_t steps = 0;                          // updates applied (LAMB's bias correction counts them)
  std::map<std::string, at::Tensor> tensors;  // "<slot>/<parameter name>" -> tensor
};

class Optimizer : public CheckpointSection {
 public:
  // Validates the options (OptionError naming them); weight_decay: optim.weight_decay resolved (>= 0:
  // the backbone's default applied where it was < 0).
  Optimizer(std::vector<OptimizedParameter> parameters, const OptimizerOptions& options, double weight_decay);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // The registered name (optim.optimizer).
  virtual std::string name() const = 0;
  // One update with the parameters' current gradients at learning rate lr; parameters without a
  // gradient are left alone.
  virtual void step(double lr) = 0;
  // The names of the per-parameter state tensors ("velocity"; "exp_avg", "exp_avg_sq").
  virtual std::vector<std::string> slots() const = 0;

  // Zeroes every gradient in place (gradients that are views of communication buckets stay so).
  void zero_grad();
  const std::vector<OptimizedParameter>& parameters() const { return parameters_; }
  int64_t steps() const { return steps_; }

  // The state for a checkpoint: contiguous CPU copies are made by the checkpoint writer.
  OptimizerState state() const;
  // Restores a checkpoint's state. UserError when it was written by another optimizer (naming both),
  // names a slot or parameter this optimizer lacks, or holds a tensor of another shape.
  void load_state(const OptimizerState& state);
  // Bytes of state once every parameter has its slots: one float per element per slot.
  int64_t state_bytes() const;

  // The checkpoint's section "optimizer" (train/checkpoint.h): name, steps and state as state() has
  // them; restore() is load_state() (a negative step count refused), its errors naming the checkpoint.
  void save(SectionValues& out) const final;
  void restore(const SectionValues& values) final;

 protected:
  // The state tensor `slot` of `parameter`, laid out as the parameter now is (re-laid once when the
  // parameter changed layout after a checkpoint was loaded); nullptr before its first update.
  at::Tensor* find_slot(const std::string& slot, const OptimizedParameter& parameter);
  // The state tensor `slot` of `parameter`, created as zeros like the parameter when missing.
  at::Tensor& slot_or_zeros(const std::string& slot, const OptimizedParameter& parameter);
  // Stores `value` as the state tensor, in the parameter's layout.
  at::Tensor& set_slot(const std::string& slot, const OptimizedParameter& parameter, const at::Tensor& value);
  void count_step() { ++steps_; }

  std::vector<OptimizedParameter> parameters_;
  const OptimizerOptions options_;
  const double weight_decay_;

 private:
  std::map<std::string, at::Tensor> state_;  // "<slot>/<parameter name>"
  int64_t steps_ = 0;
};

}  // namespace atrous::train
