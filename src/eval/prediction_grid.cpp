#include "atrous/eval/prediction_grid.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "atrous/core/error.h"
#include "atrous/eval/bitmap_font.h"
#include "atrous/eval/colour_masks.h"

namespace atrous::eval {
namespace {

using Colour = std::array<uint8_t, 3>;

const char* const column_headings[3] = {"image", "ground truth", "prediction"};

struct LegendEntry {
  Colour colour;
  std::string name;
  int64_t x = 0;  // from the legend's left margin
  int line = 0;
};

bool has_ignore_label(const GridStyle& style) {
  return style.ignore_label >= 0 && style.ignore_label <= 255;
}

void check_style(const GridStyle& style) {
  ATROUS_ASSERT(!style.palette.empty(), "prediction_grid needs a palette");
  ATROUS_ASSERT(style.class_names.size() <= style.palette.size(), style.class_names.size(),
                " class names for ", style.palette.size(), " palette colours");
  ATROUS_ASSERT(style.upscale >= 0 && style.text_scale >= 0 && style.min_cell_size >= 1, "upscale ",
                style.upscale, ", text scale ", style.text_scale, ", min_cell_size ", style.min_cell_size);
}

void check_sample(const GridSample& sample, size_t i) {
  const std::string which = to_text("prediction_grid's sample ", i, " ('", sample.name, "')");
  ATROUS_ASSERT(sample.image.defined() && sample.label.defined() && sample.prediction.defined(), which,
                " lacks its image, label or prediction");
  const at::Tensor& image = sample.image;
  ATROUS_ASSERT(image.dim() == 3 && image.size(2) == 3 && image.scalar_type() == at::kByte, which,
                ": the image is [H, W, 3] uint8, not ", image.sizes(), " ", image.scalar_type());
  ATROUS_ASSERT(image.size(0) > 0 && image.size(1) > 0, which, ": empty image ", image.sizes());
  for (const at::Tensor* indices : {&sample.label, &sample.prediction}) {
    const char* what = indices == &sample.label ? "label" : "prediction";
    ATROUS_ASSERT(indices->dim() == 2 && indices->scalar_type() == at::kByte, which, ": the ", what,
                  " is [H, W] uint8, not ", indices->sizes(), " ", indices->scalar_type());
    ATROUS_ASSERT(indices->size(0) == image.size(0) && indices->size(1) == image.size(1), which, ": the ",
                  what, " is ", indices->sizes(), ", the image ", image.sizes());
  }
}

// The legend's entries, placed on lines no wider than `width` (an entry wider than that alone on its
// line).
std::vector<LegendEntry> legend_entries(const GridStyle& style, int64_t width, int text_scale) {
  std::vector<LegendEntry> entries;
  const size_t classes = style.class_names.empty() ? style.palette.size() : style.class_names.size();
  for (size_t k = 0; k < classes; ++k)
    entries.push_back(
        {style.palette[k], style.class_names.empty() ? std::to_string(k) : style.class_names[k]});
  if (has_ignore_label(style)) entries.push_back({style.ignore_colour, "ignore"});
  const int64_t h = text_height(text_scale);
  int64_t x = 0;
  int line = 0;
  for (LegendEntry& entry : entries) {
    const int64_t entry_width = h + h / 2 + text_width(entry.name, text_scale);
    if (x > 0 && x + entry_width > width) x = 0, ++line;
    entry.x = x;
    entry.line = line;
    x += entry_width + 2 * h;
  }
  return entries;
}

void fill(at::Tensor& grid, const GridRect& rect, const Colour& colour) {
  at::Tensor area = grid.slice(0, rect.y, rect.y + rect.height).slice(1, rect.x, rect.x + rect.width);
  for (int c = 0; c < 3; ++c) area.select(2, c).fill_(colour[c]);
}

// [H, W, C] -> [H x factor, W x factor, C], each pixel repeated.
at::Tensor upscaled(const at::Tensor& pixels, int factor) {
  if (factor == 1) return pixels;
  const int64_t height = pixels.size(0), width = pixels.size(1);
  return pixels.reshape({height, 1, width, 1, 3})
      .expand({height, factor, width, factor, 3})
      .reshape({height * factor, width * factor, 3});
}

void place(at::Tensor& grid, const GridRect& cell, const at::Tensor& pixels) {
  grid.slice(0, cell.y, cell.y + pixels.size(0)).slice(1, cell.x, cell.x + pixels.size(1)).copy_(pixels);
}

at::Tensor ground_truth_colours(const at::Tensor& label, const GridStyle& style) {
  at::Tensor colours = colourise(label, style.palette);
  if (!has_ignore_label(style)) return colours;
  const Colour& ignore = style.ignore_colour;
  const at::Tensor neutral = at::tensor({ignore[0], ignore[1], ignore[2]}, at::kByte);
  return at::where((label == style.ignore_label).unsqueeze(-1), neutral, colours);
}

void draw_row(at::Tensor& grid, const GridSample& sample, const GridLayout& layout, size_t i,
              const GridStyle& style) {
  const std::array<GridRect, 3>& cells = layout.cells[i];
  const int t = layout.text_scale, h = text_height(t), p = 4 * t;
  if (!sample.name.empty()) {
    at::Tensor inside = grid.slice(1, 0, layout.width - p);
    draw_text(inside, static_cast<int>(cells[0].x), static_cast<int>(cells[0].y - p / 2 - h), sample.name,
              style.text_colour, t);
  }
  place(grid, cells[0], upscaled(sample.image.cpu(), layout.upscale));
  place(grid, cells[1], upscaled(ground_truth_colours(sample.label.cpu(), style), layout.upscale));
  place(grid, cells[2], upscaled(colourise(sample.prediction.cpu(), style.palette), layout.upscale));
}

void draw_headings(at::Tensor& grid, const GridLayout& layout, const GridStyle& style) {
  const int t = layout.text_scale;
  for (int c = 0; c < 3; ++c) {
    const GridRect& cell = layout.cells[0][c];
    at::Tensor column = grid.slice(1, cell.x, cell.x + cell.width);
    const int x = std::max<int>(0, (static_cast<int>(cell.width) - text_width(column_headings[c], t)) / 2);
    draw_text(column, x, 4 * t, column_headings[c], style.text_colour, t);
  }
}

void draw_legend(at::Tensor& grid, const GridLayout& layout, const GridStyle& style) {
  const int t = layout.text_scale, h = text_height(t), p = 4 * t;
  at::Tensor inside = grid.slice(1, 0, layout.width - p);
  for (const LegendEntry& entry : legend_entries(style, layout.width - 2 * p, t)) {
    const int64_t x = p + entry.x, y = layout.legend.y + entry.line * (h + p);
    fill(grid, {x, y, h, h}, style.text_colour);  // the frame; any line is h wide or more
    fill(grid, {x + t, y + t, h - 2 * t, h - 2 * t}, entry.colour);
    draw_text(inside, static_cast<int>(x + h + h / 2), static_cast<int>(y), entry.name, style.text_colour, t);
  }
}

}  // namespace

GridLayout grid_layout(const std::vector<GridSample>& samples, const GridStyle& style) {
  ATROUS_ASSERT(!samples.empty(), "prediction_grid was given no samples");
  check_style(style);
  int64_t max_height = 0, max_width = 0;
  bool named = false;
  for (size_t i = 0; i < samples.size(); ++i) {
    check_sample(samples[i], i);
    max_height = std::max(max_height, samples[i].image.size(0));
    max_width = std::max(max_width, samples[i].image.size(1));
    named = named || !samples[i].name.empty();
  }
  GridLayout layout;
  const int64_t shorter = std::min(max_height, max_width);
  layout.upscale =
      style.upscale > 0
          ? style.upscale
          : static_cast<int>(std::max<int64_t>(1, (style.min_cell_size + shorter - 1) / shorter));
  const int64_t cell_width = max_width * layout.upscale, cell_height = max_height * layout.upscale;
  layout.text_scale =
      style.text_scale > 0 ? style.text_scale : static_cast<int>(std::max<int64_t>(1, cell_width / 256));
  const int t = layout.text_scale, h = text_height(t), p = 4 * t;
  layout.width = p + 3 * (cell_width + p);
  int64_t y = p + h + p;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (named) y += h + p / 2;
    std::array<GridRect, 3> row;
    for (int c = 0; c < 3; ++c) row[c] = {p + c * (cell_width + p), y, cell_width, cell_height};
    layout.cells.push_back(row);
    y += cell_height + p;
  }
  const std::vector<LegendEntry> entries = legend_entries(style, layout.width - 2 * p, t);
  layout.legend_lines = entries.empty() ? 0 : entries.back().line + 1;
  layout.legend = {0, y, layout.width, layout.legend_lines * (h + p)};
  layout.height = y + layout.legend.height;
  return layout;
}

at::Tensor prediction_grid(const std::vector<GridSample>& samples, const GridStyle& style) {
  const GridLayout layout = grid_layout(samples, style);
  at::Tensor grid = at::empty({layout.height, layout.width, 3}, at::kByte);
  fill(grid, {0, 0, layout.width, layout.height}, style.background);
  draw_headings(grid, layout, style);
  for (size_t i = 0; i < samples.size(); ++i) draw_row(grid, samples[i], layout, i, style);
  draw_legend(grid, layout, style);
  return grid;
}

}  // namespace atrous::eval
