#pragma once
// Which pixel losses the top-k loss keeps, and with what weight, on one rank or across all ranks.
//
// Given non-negative pixel losses v and a count k, the selection keeps every pixel whose loss is
// above the k-th largest value t. Ties at t are shared: the m = k - count(v > t) remaining slots
// are spread over the c pixels with v == t, each weighted m / c. The kept sum
// sum(v > t) + m * t is exactly the sum of the k largest values, as tf.nn.top_k gives it, but
// unlike an arbitrary pick among equal values the weights do not depend on the order of the
// pixels, so the same pixels spread over any number of ranks select the same way.
//   kept_sum       = sum of weight * v
//   nonzero_count  = how many of the k kept values are non-zero: count(v > t) + (t != 0 ? m : 0)
// k = 0 keeps nothing; k >= the number of pixels keeps everything.
//
// Across ranks (global_top_k) the k-th largest value of the union of every rank's pixels is found
// without gathering them: non-negative float32 values order like their bit patterns, so four
// rounds of a 256-bucket histogram over the next 8 bits, summed with one small allreduce each,
// pin down its 32 bits exactly. Several loss entries are searched together, one allreduce per
// round for all of them.
//
// On one process, local_top_k_on_device makes the same selection where the values are: t by
// at::kthvalue, the counts, weights and non-zero count as tensors on the values' device, so that
// no value is read back by the host (a synchronisation on GPUs). local_top_k, the radix search on
// the host, is its reference.

#include <ATen/core/Tensor.h>

#include <vector>

#include "atrous/distributed/communicator.h"

namespace atrous::loss {

struct TopKThreshold {
  float value = 0;      // t, the k-th largest value
  int64_t greater = 0;  // pixels with v > t
  int64_t equal = 0;    // pixels with v == t
  int64_t k = 0;
};

// Weights (0, 1, or m / c at ties) for the values of this rank, given the threshold.
at::Tensor selection_weights(const at::Tensor& values, const TopKThreshold& threshold);

int64_t nonzero_count(const TopKThreshold& threshold);

// The threshold of the k largest among `values` (1-D float32, >= 0) of this process alone.
TopKThreshold local_top_k(const at::Tensor& values, int64_t k);

// The selection of the k largest among `values` (1-D float32, >= 0) of this process alone, computed
// on the values' device without reading any of them back: the weights of selection_weights and
// the count of nonzero_count ([] float64), for the same threshold as local_top_k's.
struct DeviceSelection {
  at::Tensor weights;
  at::Tensor nonzero;
};
DeviceSelection local_top_k_on_device(const at::Tensor& values, int64_t k);

// The thresholds of the k[i] largest among the union over all ranks of values[i]; k[i] must not
// exceed that union's size. Collective: every rank calls it with the same entries and k.
std::vector<TopKThreshold> global_top_k(const std::vector<at::Tensor>& values, const std::vector<int64_t>& k,
                                        distributed::Communicator& comm);

}  // namespace atrous::loss
