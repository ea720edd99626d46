#pragma once
// LAMB, optim.optimizer lamb: Adam's moments with a layer-wise trust ratio (You et al. 2019, "Large
// Batch Optimization for Deep Learning: Training BERT in 76 minutes"), with decoupled weight decay,
// as MLPerf HPC's DeepCAM trains DeepLabV3+. Per parameter, g its averaged gradient times its
// multiplier (train/optimizer.h), t the count of applied updates including this one, wd the weight
// decay, b1, b2, eps optim.beta1, optim.beta2, optim.eps:
//   m = b1 * m + (1 - b1) * g                     (m and v start at 0)
//   v = b2 * v + (1 - b2) * g * g
//   u = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//   adapted (a convolution weight; every tensor with optim.exclude_from_adaptation none):
//     u = u + wd * w
//     trust = |w| / |u|                            (1 where |w| or |u| is 0)
//   excluded (batch-norm parameters and biases by default): trust = 1, no decay
//   w = w - lr * trust * u
// |.| is the Euclidean norm of the whole tensor, kept on the device. A step skipped for fp16
// overflow never reaches step(), so neither the moments nor t move. State: slots "exp_avg" (m) and
// "exp_avg_sq" (v), and t as the optimizer's step count.

#include "atrous/train/optimizer.h"

namespace atrous::train {

class Lamb : public Optimizer {
 public:
  using Optimizer::Optimizer;

  std::string name() const override { return "lamb"; }
  std::vector<std::string> slots() const override { return {"exp_avg", "exp_avg_sq"}; }
  void step(double lr) override;
};

}  // namespace atrous::train
