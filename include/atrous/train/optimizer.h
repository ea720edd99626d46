#pragma once
// SGD with momentum as TF DeepLab trains (and PyTorch's SGD computes): per parameter
//   d = grad + weight_decay * w      (weight decay only on convolution weights: tensors of more
//                                     than one dimension; never biases or batch-norm parameters)
//   d = d * multiplier               (optim.bias_multiplier for convolution biases, TF's x2;
//                                     optim.last_layer_gradient_multiplier for the logits layer)
//   v = momentum * v + d             (v starts at d)
//   w = w - lr * (nesterov ? d + momentum * v : v)
// The velocity of each parameter is kept by name, so checkpoints store and restore it exactly.
// A parameter whose tensor, gradient and velocity are float32 CPU arrays in one layout (dense, alike
// as core/tensor_layout.h says: contiguous or channels-last) is updated in one pass over its memory
// (train/sgd_array_update.h); all others (on a GPU, float64, a gradient laid out differently)
// together with ATen's multi-tensor (foreach) operators. On a GPU whose parameters share a dtype and
// whose gradients and velocities are laid out as their parameters, that is a few kernel launches
// per operation for all parameters instead of several per parameter. Both compute the formula above
// up to the rounding of fused multiply-adds. A velocity lives on its parameter's device, in its
// dtype and layout: created so, loaded so, and re-laid once if the parameter changes layout after
// a checkpoint's velocities were loaded (model.memory_format is applied after them).

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace atrous {
class OptionTable;
namespace model {
class DeepLabImpl;
}
}  // namespace atrous

namespace atrous::train {

struct SgdOptions {
  double momentum = 0.9;                        // optim.momentum
  bool nesterov = false;                        // optim.nesterov
  double weight_decay = -1;                     // optim.weight_decay: < 0 = 1e-4 for ResNets, else 4e-5
  double bias_multiplier = 2.0;                 // optim.bias_multiplier
  double last_layer_gradient_multiplier = 1.0;  // optim.last_layer_gradient_multiplier

  static void declare(OptionTable& table, SgdOptions& options);
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
std::vector<OptimizedParameter> deeplab_parameters(model::DeepLabImpl& net, const SgdOptions& options);

class SgdMomentum {
 public:
  // weight_decay: the resolved value (>= 0). Validates the options.
  SgdMomentum(std::vector<OptimizedParameter> parameters, const SgdOptions& options, double weight_decay);

  // Applies one step with the parameters' current gradients (undefined gradients are skipped).
  void step(double lr);
  void zero_grad();

  const std::map<std::string, at::Tensor>& velocity() const { return velocity_; }
  // Restores velocities saved by a checkpoint; names must be parameters of this optimizer.
  void load_velocity(const std::map<std::string, at::Tensor>& velocity);
  const std::vector<OptimizedParameter>& parameters() const { return parameters_; }

 private:
  // The one-pass update, when the parameter, its gradient and its velocity are float32 arrays on
  // the CPU; false (nothing done) otherwise.
  bool step_in_one_pass(const OptimizedParameter& parameter, const at::Tensor& grad, double lr);
  // The parameter's velocity, laid out as the parameter now is; nullptr before its first step.
  at::Tensor* velocity_of(const OptimizedParameter& parameter);
  // The update of `others` (each with a gradient) with ATen's foreach operators.
  void step_as_lists(const std::vector<const OptimizedParameter*>& others, double lr);

  std::vector<OptimizedParameter> parameters_;
  SgdOptions options_;
  double weight_decay_;
  std::map<std::string, at::Tensor> velocity_;
};

}  // namespace atrous::train
