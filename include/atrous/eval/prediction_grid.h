#pragma once
// A picture of what the model predicts: for each sample a row of three cells, the image, its ground
// truth and the prediction, both painted with the dataset palette (eval/colour_masks.h), under the
// column headings "image", "ground truth" and "prediction", with a legend below: a swatch and the
// name of every class, wrapped over as many lines as the width needs.
//
// Every cell is as large as the largest sample (the largest height and the largest width, each over
// all samples) times `upscale`; a smaller sample sits in its cell's top-left corner on the
// background. Upscaling repeats pixels (nearest neighbour), so class boundaries stay sharp. Ground
// truth pixels equal to ignore_label are painted ignore_colour (white by default), which the legend
// names "ignore"; a class index past the palette is painted black, in ground truth and prediction.
// The prediction is painted as it is, also where the ground truth is ignored.
//
// Layout, with t the text scale, h = 8t the height of a line of text (eval/bitmap_font.h), p = 4t the
// spacing, cw x ch a cell, r the rows and n the legend's lines:
//   width  = p + 3 (cw + p)
//   height = p + (h + p)                  the headings, each centred over its column
//          + r ((h + p/2 if any sample has a name) + ch + p)
//                                         each sample's name, left-aligned above its row, then the row
//          + n (h + p)                    the legend, its entries 2h apart, each a h x h swatch framed
//                                         in text_colour, h/2 of space and the name
// Text that does not fit is clipped: a heading at its column's edges, the rest at the picture's right
// margin.
//
// The samples may live on any device; they are read on the CPU. An empty list, a tensor of the wrong
// type or shape, a label or prediction whose size differs from its image, an empty palette or more
// class names than colours, or a negative scale is an InternalError: the caller's bug.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace atrous::eval {

struct GridSample {
  at::Tensor image;       // [H, W, 3] uint8 RGB
  at::Tensor label;       // [H, W] uint8 class indices, ignore_label where unlabelled
  at::Tensor prediction;  // [H, W] uint8 class indices
  std::string name;       // drawn above the row; "" for none
};

struct GridStyle {
  std::vector<std::array<uint8_t, 3>> palette;  // colour k paints class k
  // The legend's names, one per class (at most one per colour); when empty, the legend lists every
  // palette colour under its index.
  std::vector<std::string> class_names;
  int ignore_label = 255;  // outside 0..255: none, and no "ignore" in the legend
  std::array<uint8_t, 3> ignore_colour{255, 255, 255};
  std::array<uint8_t, 3> background{32, 32, 32};
  std::array<uint8_t, 3> text_colour{235, 235, 235};
  // Pixels of the picture per pixel of a sample; 0: the smallest factor that makes the cells at least
  // min_cell_size pixels on their shorter side (a 129 x 129 sample: 1; 64 x 64: 2).
  int upscale = 0;
  int min_cell_size = 128;
  // Pixels per font pixel; 0: one per 256 pixels of cell width, at least 1.
  int text_scale = 0;
};

struct GridRect {
  int64_t x = 0, y = 0, width = 0, height = 0;
};

// Where prediction_grid draws what.
struct GridLayout {
  int64_t width = 0, height = 0;  // the whole picture
  int upscale = 1, text_scale = 1;
  std::vector<std::array<GridRect, 3>> cells;  // per sample: image, ground truth, prediction
  GridRect legend;                             // from the legend's first line to the picture's bottom
  int legend_lines = 0;
};

GridLayout grid_layout(const std::vector<GridSample>& samples, const GridStyle& style);

// [height, width, 3] uint8 RGB on the CPU, laid out as grid_layout says.
at::Tensor prediction_grid(const std::vector<GridSample>& samples, const GridStyle& style);

}  // namespace atrous::eval
