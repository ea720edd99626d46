#pragma once
// A small built-in bitmap font, for the words drawn into pictures (eval/prediction_grid.h), so that no
// font file or font library is needed.
//
// Printable ASCII, 32 to 126; lower case letters are small letters of their own, not capitals. Each
// glyph is 5 pixels wide and 8 high: rows 0 to 6 reach down to the baseline, row 7 holds the
// descenders (g, j, p, q, y, the comma, the underscore). Characters follow each other every 6 pixels;
// every font pixel is drawn as a scale x scale square. Any other byte (a control character such as
// '\n', a byte of a UTF-8 sequence) is drawn as a hollow box of the capitals' size; one line of text
// only.
//
// draw_text paints the text's pixels in `colour` and leaves every other pixel as it is (no
// background), only inside the box from (x, y), the top-left corner, to
// (x + text_width, y + text_height); what falls outside the image is clipped, so x and y may be
// negative or past the edges. The image is any [H, W, 3] uint8 CPU tensor, a view (a slice) included:
// drawing into a slice clips at the slice's edges. A wrong image or a scale below 1 is an
// InternalError.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>

namespace atrous::eval {

inline constexpr int glyph_width = 5;    // font pixels
inline constexpr int glyph_height = 8;   // font pixels, the descender row included
inline constexpr int glyph_advance = 6;  // font pixels from one character to the next

// (6 x characters - 1) x scale: no space after the last character; 0 for "".
int text_width(const std::string& text, int scale = 1);
// 8 x scale: a line of text from the top of the capitals to the bottom of the descenders.
int text_height(int scale = 1);

void draw_text(at::Tensor& rgb, int x, int y, const std::string& text, std::array<uint8_t, 3> colour,
               int scale = 1);

}  // namespace atrous::eval
