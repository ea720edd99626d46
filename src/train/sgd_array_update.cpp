#include "atrous/train/sgd_array_update.h"

#include <ATen/Parallel.h>

namespace atrous::train {
namespace {

template <bool decay, bool nesterov>
void update_range(const SgdArrayUpdate& u, float* w, const float* g, float* v, int64_t n) {
  at::parallel_for(0, n, int64_t(1) << 15, [=](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float d = g[i];
      if constexpr (decay) d = d + u.weight_decay * w[i];
      d = d * u.multiplier;
      const float velocity = u.first ? d : u.momentum * v[i] + d;
      v[i] = velocity;
      if constexpr (nesterov)
        w[i] = w[i] - u.lr * (d + u.momentum * velocity);
      else
        w[i] = w[i] - u.lr * velocity;
    }
  });
}

}  // namespace

void apply_sgd_update(const SgdArrayUpdate& update, float* w, const float* g, float* v, int64_t n) {
  const bool decay = update.weight_decay != 0;
  if (decay)
    update.nesterov ? update_range<true, true>(update, w, g, v, n)
                    : update_range<true, false>(update, w, g, v, n);
  else
    update.nesterov ? update_range<false, true>(update, w, g, v, n)
                    : update_range<false, false>(update, w, g, v, n);
}

}  // namespace atrous::train
