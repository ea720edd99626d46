#pragma once
// How many pixels the top-k loss keeps: TF DeepLab's hard example mining schedule.
//
//   p = loss.top_k_percent_pixels in (0, 1], n = pixels of the batch (ignored ones included)
//   hard_example_mining_step = 0:  k = int(p * n)
//   otherwise: r = min(1, step / hard_example_mining_step), k = int((r * p + (1 - r)) * n)
// so mining starts from every pixel and narrows linearly to the fraction p. The arithmetic is done
// in float32, as TensorFlow does it, so k matches TF's to the pixel.

#include <cstdint>

namespace atrous::loss {

int64_t top_k_pixel_count(double top_k_percent_pixels, int64_t hard_example_mining_step, int64_t step,
                          int64_t pixels);

}  // namespace atrous::loss
