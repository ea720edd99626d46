#pragma once
// LARS, optim.optimizer lars: momentum SGD with a layer-wise trust ratio (You, Gitman and Ginsburg
// 2017, "Large Batch Training of Convolutional Networks"), in the form of MLPerf's ResNet reference.
// Per parameter, g its averaged gradient times its multiplier (train/optimizer.h), wd the weight
// decay, eta optim.lars_eta, m optim.momentum:
//   adapted (a convolution weight; every tensor with optim.exclude_from_adaptation none):
//     trust = eta * |w| / (|g| + wd * |w|)      (1 where |w| or |g| is 0)
//     d = g + wd * w
//     r = lr * trust
//   excluded (batch-norm parameters and biases by default): d = g, r = lr (no decay, no ratio)
//   v = m * v + r * d                             (v starts at 0; the velocity holds the rate)
//   w = w - (nesterov ? m * v + r * d : v)
// |.| is the Euclidean norm of the whole tensor. The ratio stays a tensor on the parameter's device:
// no host read per layer. State: slot "momentum", one tensor per parameter.

#include "atrous/train/optimizer.h"

namespace atrous::train {

class Lars : public Optimizer {
 public:
  using Optimizer::Optimizer;

  std::string name() const override { return "lars"; }
  std::vector<std::string> slots() const override { return {"momentum"}; }
  void step(double lr) override;
};

}  // namespace atrous::train
