#include "atrous/distributed/bucket_plan.h"

namespace atrous::distributed {

std::vector<std::vector<int64_t>> plan_buckets(const std::vector<int64_t>& bytes, int64_t first_bucket_bytes,
                                               int64_t bucket_bytes) {
  std::vector<std::vector<int64_t>> buckets;
  int64_t filled = 0;
  for (int64_t i = static_cast<int64_t>(bytes.size()) - 1; i >= 0; --i) {
    const int64_t cap =
        buckets.size() == 1 ? first_bucket_bytes : bucket_bytes;  // back() is the first bucket
    if (buckets.empty() || filled + bytes[i] > cap) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(i);
    filled += bytes[i];
  }
  return buckets;
}

}  // namespace atrous::distributed
