#include "atrous/loss/top_k_selection.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

#include "atrous/core/error.h"

namespace atrous::loss {
namespace {

constexpr int buckets = 256;
constexpr int rounds = 4;  // 4 x 8 bits = the whole float32 pattern

// Sums the [entries, 256] histograms over whoever holds pixels: nobody else for one process,
// every rank for the global selection.
using HistogramSum = std::function<void(at::Tensor&)>;

float float_of_bits(int32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// The bit pattern of each value with the sign cleared: -0.0 counts as 0, and for values >= 0 the
// order of the patterns is the order of the values.
at::Tensor ordered_bits(const at::Tensor& values) {
  ATROUS_ASSERT(values.dim() == 1 && values.scalar_type() == at::kFloat, "pixel losses must be 1-D float32");
  return values.contiguous().view(at::kInt).bitwise_and(0x7fffffff);
}

// k[e] must lie in [0, pixels of entry e over every process that takes part].
std::vector<TopKThreshold> radix_search(const std::vector<at::Tensor>& values, const std::vector<int64_t>& k,
                                        const HistogramSum& sum) {
  const size_t entries = values.size();
  std::vector<at::Tensor> bits;
  for (const auto& v : values) bits.push_back(ordered_bits(v));
  std::vector<int64_t> prefix(entries, 0), above(entries, 0), last_bucket_count(entries, 0);

  for (int round = 0; round < rounds; ++round) {
    const int shift = 24 - 8 * round;
    at::Tensor histogram = at::zeros({static_cast<int64_t>(entries), buckets}, at::kLong);
    for (size_t e = 0; e < entries; ++e) {
      at::Tensor candidates = bits[e];
      if (round > 0)
        candidates = candidates.masked_select(candidates.bitwise_right_shift(shift + 8).eq(prefix[e]));
      at::Tensor bucket = candidates.bitwise_right_shift(shift).bitwise_and(buckets - 1).to(at::kLong);
      histogram[e].copy_(at::bincount(bucket, {}, buckets));
    }
    sum(histogram);
    for (size_t e = 0; e < entries; ++e) {
      if (k[e] <= 0) continue;
      const int64_t* counts = histogram[e].contiguous().data_ptr<int64_t>();
      int chosen = buckets - 1;
      for (; chosen > 0 && above[e] + counts[chosen] < k[e]; --chosen) above[e] += counts[chosen];
      prefix[e] = (prefix[e] << 8) | chosen;
      last_bucket_count[e] = counts[chosen];
    }
  }

  std::vector<TopKThreshold> thresholds(entries);
  for (size_t e = 0; e < entries; ++e) {
    if (k[e] <= 0) {
      thresholds[e] = {std::numeric_limits<float>::infinity(), 0, 0, 0};
    } else {
      thresholds[e] = {float_of_bits(static_cast<int32_t>(prefix[e])), above[e], last_bucket_count[e], k[e]};
    }
  }
  return thresholds;
}

}  // namespace

at::Tensor selection_weights(const at::Tensor& values, const TopKThreshold& threshold) {
  at::Tensor weights = values.gt(threshold.value).to(at::kFloat);
  if (threshold.equal > 0) {
    const double share =
        static_cast<double>(threshold.k - threshold.greater) / static_cast<double>(threshold.equal);
    weights = weights + values.eq(threshold.value).to(at::kFloat) * share;
  }
  return weights;
}

int64_t nonzero_count(const TopKThreshold& threshold) {
  const int64_t remaining = threshold.k - threshold.greater;
  return threshold.greater + (threshold.value != 0 ? remaining : 0);
}

TopKThreshold local_top_k(const at::Tensor& values, int64_t k) {
  return radix_search({values}, {std::clamp<int64_t>(k, 0, values.numel())}, [](at::Tensor&) {})[0];
}

DeviceSelection local_top_k_on_device(const at::Tensor& values, int64_t k) {
  ATROUS_ASSERT(values.dim() == 1 && values.scalar_type() == at::kFloat, "pixel losses must be 1-D float32");
  const int64_t n = values.numel();
  k = std::clamp<int64_t>(k, 0, n);
  const at::TensorOptions float64 = values.options().dtype(at::kDouble);
  if (k == 0) return {at::zeros_like(values), at::zeros({}, float64)};
  const at::Tensor threshold = std::get<0>(at::kthvalue(values, n - k + 1));  // the k-th largest
  const at::Tensor greater = values.gt(threshold), equal = values.eq(threshold);
  const at::Tensor greater_count = greater.sum().to(at::kDouble);
  const at::Tensor remaining = double(k) - greater_count;
  // equal counts t itself, so it is >= 1 (unless t is NaN: then the loss is NaN anyway). The share
  // is rounded to float32 as selection_weights's.
  const at::Tensor share = (remaining / equal.sum().to(at::kDouble)).to(at::kFloat);
  const at::Tensor weights = greater.to(at::kFloat) + equal.to(at::kFloat) * share;
  const at::Tensor nonzero = greater_count + remaining * threshold.ne(0).to(at::kDouble);
  return {weights, nonzero};
}

std::vector<TopKThreshold> global_top_k(const std::vector<at::Tensor>& values, const std::vector<int64_t>& k,
                                        distributed::Communicator& comm) {
  ATROUS_ASSERT(values.size() == k.size(), "one k per entry");
  for (int64_t count : k) ATROUS_ASSERT(count >= 0, "k = ", count);
  return radix_search(values, k, [&](at::Tensor& histogram) {
    comm.allreduce(histogram, distributed::ReduceOp::sum, distributed::CollectivePurpose::loss)->wait();
  });
}

}  // namespace atrous::loss
