#pragma once
// How gradients are grouped into allreduce buckets (PyTorch DDP's rule).
//
// Backward produces gradients roughly in reverse registration order, so buckets are filled in that
// order: the first bucket holds up to first_bucket_bytes (small, so communication starts early),
// every later one up to bucket_bytes. A gradient larger than the cap gets a bucket of its own;
// gradients are never split.

#include <cstdint>
#include <vector>

namespace atrous::distributed {

// bytes[i]: size of parameter i's gradient on the wire, in registration order. Returns the
// buckets, each a list of parameter indices, in launch order.
std::vector<std::vector<int64_t>> plan_buckets(const std::vector<int64_t>& bytes, int64_t first_bucket_bytes,
                                               int64_t bucket_bytes);

}  // namespace atrous::distributed
