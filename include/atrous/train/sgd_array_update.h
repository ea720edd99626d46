#pragma once
// One step of SGD with momentum (train/sgd_momentum.h's formula) for a parameter held as float32 arrays
// on the CPU, element by element in ONE pass over memory: w, g and v are read once, w and v written
// once. ATen's operators take about a dozen passes (and two temporaries) for the same update, which
// made up most of a DeepLab optimizer step on a CPU. For each i:
//   d = (g + weight_decay * w) * multiplier        (weight_decay 0: no decay term at all)
//   v = first ? d : momentum * v + d               (first: v's old contents are never read)
//   w = w - lr * (nesterov ? d + momentum * v : v)
// in float32, as ATen computes it with the scalars rounded to float32 first; ATen may fuse lr * v
// into w with one rounding, so the two can differ in the last bit. Elements are independent: the
// range is split over LibTorch's intra-op threads and the result does not depend on their number.

#include <cstdint>

namespace atrous::train {

struct SgdArrayUpdate {
  float weight_decay = 0;
  float multiplier = 1;
  float momentum = 0;
  float lr = 0;
  bool nesterov = false;
  bool first = false;
};

void apply_sgd_update(const SgdArrayUpdate& update, float* w, const float* g, float* v, int64_t n);

}  // namespace atrous::train
