#include "atrous/model/tap_windows.h"

#include <algorithm>

#include "atrous/core/error.h"

namespace atrous::model {

std::vector<TapWindow> tap_windows(int64_t size, int64_t kernel, int64_t dilation) {
  ATROUS_ASSERT(size >= 1 && kernel >= 1 && kernel % 2 == 1 && dilation >= 1, "tap windows of size ", size,
                " kernel ", kernel, " dilation ", dilation);
  const int64_t padding = dilation * (kernel - 1) / 2;
  std::vector<TapWindow> windows;
  for (int64_t tap = 0; tap < kernel; ++tap) {
    const int64_t offset = tap * dilation - padding;
    windows.push_back(TapWindow{std::max<int64_t>(0, -offset), std::min(size, size - offset), offset});
  }
  return windows;
}

double inside_fraction(int64_t height, int64_t width, int64_t kernel, int64_t dilation) {
  int64_t rows = 0, columns = 0;  // the separable sums: sum_i |row window i| and sum_j |column window j|
  for (const TapWindow& window : tap_windows(height, kernel, dilation)) rows += window.size();
  for (const TapWindow& window : tap_windows(width, kernel, dilation)) columns += window.size();
  return double(rows) * double(columns) / (double(kernel * kernel) * double(height) * double(width));
}

}  // namespace atrous::model
