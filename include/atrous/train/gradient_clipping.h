#pragma once
// The global gradient norm, and clipping to optim.max_grad_norm, as PyTorch's clip_grad_norm_:
//   norm = sqrt(sum over every parameter's gradient of its squared elements)
//   with max_norm > 0 and coefficient = max_norm / (norm + 1e-6) < 1: every gradient *= coefficient
// It runs on the gradients every rank holds after the allreduce and after fp16 unscaling, before
// the optimizer applies decay and multipliers (train/training_step.h), so every rank computes the
// same norm and no collective is needed. The norms are taken in float64, one host read in all.
// max_norm 0 changes nothing and still returns the norm (train/grad_norm in the metrics).

#include <vector>

#include "atrous/train/optimizer.h"

namespace atrous::train {

// Returns the global norm before clipping; parameters without a gradient count as zero.
double clip_gradient_norm(const std::vector<OptimizedParameter>& parameters, double max_norm);

}  // namespace atrous::train
