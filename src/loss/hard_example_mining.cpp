#include "atrous/loss/hard_example_mining.h"

#include <algorithm>

namespace atrous::loss {

int64_t top_k_pixel_count(double top_k_percent_pixels, int64_t hard_example_mining_step, int64_t step,
                          int64_t pixels) {
  const float p = static_cast<float>(top_k_percent_pixels);
  const float n = static_cast<float>(pixels);
  if (hard_example_mining_step == 0) return static_cast<int64_t>(p * n);
  const float ratio = std::min(1.0f, static_cast<float>(step) / static_cast<float>(hard_example_mining_step));
  return static_cast<int64_t>((ratio * p + (1.0f - ratio)) * n);
}

}  // namespace atrous::loss
