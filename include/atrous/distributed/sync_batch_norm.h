#pragma once
// Batch normalisation over the batch of every rank at once (SyncBatchNorm).
//
// Training forward: each rank computes its count, mean and biased variance per channel (ATen's
// batch-norm statistics kernel: one call over the input in its own layout, accumulating in double
// on the CPU); these [1 + 2C] vectors are all-gathered in float64 and combined exactly, so ranks with
// different numbers of samples are weighted by their counts:
//   total = sum n_r,  mean = sum n_r mean_r / total,  var = sum n_r (var_r + (mean_r - mean)^2) / total
// The output is (x - mean) / sqrt(var + eps) * weight + bias, computed by ATen's fused batch norm
// with the global statistics, and the running statistics are updated with the global mean and the
// unbiased global variance (var * total / (total - 1)), as BatchNorm2d on the concatenated batch
// would update them.
// Backward: ATen's batch-norm backward gives this rank's sum(dy) and sum(dy * (x - mean)) * invstd
// in one pass; one allreduce of the [2C] float64 sums makes them global, and one more pass
// (distributed/per_channel_combination.h) writes the input gradient of the global normalisation
// (the formula is at the backward in the source). The weight and bias gradients stay this rank's
// own sums, which the GradReducer then combines like every other gradient.
// No value goes to the host (on a GPU the statistics stay on the device), except the check on the
// CPU that the global batch is not empty. The collectives are labelled CollectivePurpose::batch_norm.
// Every rank must call it for the same layers in the same order (it is collective, twice per step).
//
// The model layer decides where batch norm runs synchronised (a conversion pass of its modules
// calls this function); the model itself never sees MPI.

#include <ATen/core/Tensor.h>

#include "atrous/distributed/communicator.h"

namespace atrous::distributed {

struct BatchNormState {
  at::Tensor weight, bias;               // [C], may be undefined (no affine transform)
  at::Tensor running_mean, running_var;  // [C], updated in place; may be undefined
  double momentum = 0.1;
  double eps = 1e-5;
};

// input: [N, C, ...] on any rank; N may differ between ranks (and be 0). Differentiable w.r.t. input,
// weight and bias.
at::Tensor sync_batch_norm(const at::Tensor& input, const BatchNormState& state, Communicator& comm);

}  // namespace atrous::distributed

namespace atrous::distributed {

// What a batch-norm module of the model layer implements so that the conversion pass
// (distributed/sync_batch_norm_pass.h) can make it normalise over the global batch: with a communicator
// it calls sync_batch_norm() in training mode; with nullptr it is an ordinary batch norm again.
class SynchronisableBatchNorm {
 public:
  virtual ~SynchronisableBatchNorm() = default;
  virtual void synchronise_with(Communicator* comm) = 0;
};

}  // namespace atrous::distributed
