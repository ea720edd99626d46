#pragma once
// Tap windows: where each tap of a stride-1 "same" dilated convolution reads inside its input.
//
// A k x k kernel (k odd) with dilation r has padding p = r (k - 1) / 2, and its tap i along one axis
// reads the input at offset d_i = i r - p from the output it writes (i = 0 .. k - 1; the centre tap
// i = (k - 1) / 2 has d = 0). Along an axis of n pixels, tap i reads inside the input for the outputs
//
//     y in [max(0, -d_i), min(n, n - d_i))      (empty when |d_i| >= n)
//
// and multiplies zero padding everywhere else. A 2-D tap (i, j) is the product of its row and column
// windows. Pure arithmetic, no tensors: model/valid_tap_conv.h computes only inside these windows,
// and model/atrous_conv_path.h's rule prices them.

#include <cstdint>
#include <vector>

namespace atrous::model {

struct TapWindow {
  int64_t begin = 0;   // first output inside the window
  int64_t end = 0;     // one past the last (end <= begin: empty)
  int64_t offset = 0;  // d: the input this tap reads for output y is y + offset

  int64_t size() const { return end > begin ? end - begin : 0; }
  bool empty() const { return size() == 0; }
};

// The windows of taps 0 .. kernel - 1 along an axis of `size` outputs. kernel odd and >= 1,
// dilation >= 1, size >= 1 (an internal-invariant error otherwise).
std::vector<TapWindow> tap_windows(int64_t size, int64_t kernel, int64_t dilation);

// The share of a dense dilated convolution's multiply-adds on an height x width map that read
// inside the input: sum over taps of their window areas / (kernel^2 x height x width), in (0, 1].
double inside_fraction(int64_t height, int64_t width, int64_t kernel, int64_t dilation);

}  // namespace atrous::model
