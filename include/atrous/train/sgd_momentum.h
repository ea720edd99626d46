#pragma once
// SGD with momentum as TF DeepLab trains (and PyTorch's SGD computes), optim.optimizer sgd; per
// parameter (train/optimizer.h for decay and multipliers):
//   d = grad + weight_decay * w      (weight decay only on convolution weights: tensors of more
//                                     than one dimension; never biases or batch-norm parameters)
//   d = d * multiplier               (optim.bias_multiplier for convolution biases, TF's x2;
//                                     optim.last_layer_gradient_multiplier for the logits layer)
//   v = momentum * v + d             (v starts at d)
//   w = w - lr * (nesterov ? d + momentum * v : v)
// State: slot "velocity", one tensor per parameter.
// A parameter whose tensor, gradient and velocity are float32 CPU arrays in one layout (dense, alike
// as core/tensor_layout.h says: contiguous or channels-last) is updated in one pass over its memory
// (train/sgd_array_update.h); all others (on a GPU, float64, a gradient laid out differently)
// together with ATen's multi-tensor (foreach) operators. On a GPU whose parameters share a dtype and
// whose gradients and velocities are laid out as their parameters, that is a few kernel launches
// per operation for all parameters instead of several per parameter. Both compute the formula above
// up to the rounding of fused multiply-adds. A velocity lives on its parameter's device, in its
// dtype and layout: created so, loaded so, and re-laid once if the parameter changes layout after
// a checkpoint's velocities were loaded (model.memory_format is applied after them).

#include "atrous/train/optimizer.h"

namespace atrous::train {

class SgdMomentum : public Optimizer {
 public:
  using Optimizer::Optimizer;

  std::string name() const override { return "sgd"; }
  std::vector<std::string> slots() const override { return {"velocity"}; }
  void step(double lr) override;

  // The velocities by parameter name: the "velocity" slot of state().
  std::map<std::string, at::Tensor> velocity() const;
  // load_state() of velocities by parameter name, as a version-1 checkpoint holds them.
  void load_velocity(const std::map<std::string, at::Tensor>& velocity);

 private:
  // The one-pass update, when the parameter, its gradient and its velocity are float32 arrays on
  // the CPU; false (nothing done) otherwise.
  bool step_in_one_pass(const OptimizedParameter& parameter, const at::Tensor& grad, double lr);
  // The update of `others` (each with a gradient) with ATen's foreach operators.
  void step_as_lists(const std::vector<const OptimizedParameter*>& others, double lr);

};

}  // namespace atrous::train
