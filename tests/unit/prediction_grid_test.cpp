// The prediction grid's layout and pixels against values worked out by hand from its contract, and the
// bitmap font's glyphs, boxes and clipping.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/eval/bitmap_font.h"
#include "atrous/eval/prediction_grid.h"

namespace atrous::eval {
namespace {

using Colour = std::array<uint8_t, 3>;

GridStyle test_style() {
  GridStyle style;
  style.palette = {{0, 0, 0}, {200, 0, 0}, {0, 180, 0}, {0, 0, 170}, {150, 150, 0}, {0, 140, 140}};
  style.class_names = {"background", "cat", "dog", "car", "tree", "sky"};
  return style;
}

GridSample random_sample(int64_t height, int64_t width, int classes, const std::string& name) {
  GridSample sample;
  sample.image = at::randint(0, 256, {height, width, 3}, at::kByte);
  sample.label = at::randint(0, classes, {height, width}, at::kByte);
  sample.prediction = at::randint(0, classes, {height, width}, at::kByte);
  sample.name = name;
  return sample;
}

Colour pixel(const at::Tensor& rgb, int64_t y, int64_t x) {
  return {rgb[y][x][0].item<uint8_t>(), rgb[y][x][1].item<uint8_t>(), rgb[y][x][2].item<uint8_t>()};
}

Colour palette_colour(const GridStyle& style, const at::Tensor& indices, int64_t y, int64_t x) {
  return style.palette[indices[y][x].item<uint8_t>()];
}

int64_t count_colour(const at::Tensor& rgb, const Colour& colour) {
  const at::Tensor target = at::tensor({colour[0], colour[1], colour[2]}, at::kByte);
  return (rgb == target).all(-1).sum().item<int64_t>();
}

// The painted pixels (any channel not zero) of a black image.
int64_t painted(const at::Tensor& rgb) {
  return (rgb != 0).any(-1).sum().item<int64_t>();
}

TEST(PredictionGrid, SizeFollowsFromTheLargestSampleTheUpscaleAndTheLegend) {
  GridStyle style = test_style();
  style.class_names = {"a", "b", "c"};
  style.upscale = 2;
  style.text_scale = 1;
  std::vector<GridSample> samples = {random_sample(20, 12, 3, "first"), random_sample(10, 30, 3, "second")};
  // Cells 60 x 40; t = 1: h = 8, p = 4; one legend line ("a", "b", "c", "ignore": 146 of 188 pixels).
  const at::Tensor grid = prediction_grid(samples, style);
  EXPECT_EQ(grid.sizes(), (at::IntArrayRef{4 + 12 + 2 * (8 + 2 + 40 + 4) + 12, 4 + 3 * (60 + 4), 3}));
  EXPECT_EQ(grid.scalar_type(), at::kByte);
  const GridLayout layout = grid_layout(samples, style);
  EXPECT_EQ(layout.legend_lines, 1);
  EXPECT_EQ(layout.cells[1][2].x, 4 + 2 * 64);
  EXPECT_EQ(layout.cells[1][2].y, 4 + 12 + 54 + 10);
  for (GridSample& sample : samples) sample.name = "";  // no name lines
  EXPECT_EQ(prediction_grid(samples, style).size(0), 4 + 12 + 2 * (40 + 4) + 12);

  // Many long names wrap over more legend lines, and the picture grows by h + p per line.
  style.palette.assign(21, Colour{1, 2, 3});
  style.class_names.assign(21, "a rather long class name");
  const GridLayout wrapped = grid_layout(samples, style);
  EXPECT_GT(wrapped.legend_lines, 5);
  EXPECT_EQ(wrapped.height, 4 + 12 + 2 * (40 + 4) + 12 * wrapped.legend_lines);
  EXPECT_EQ(prediction_grid(samples, style).size(0), wrapped.height);
}

TEST(PredictionGrid, DefaultUpscaleMakesCellsAtLeast128PixelsAndTextGrowsWithTheCells) {
  const GridStyle style = test_style();
  EXPECT_EQ(grid_layout({random_sample(129, 129, 6, "")}, style).upscale, 1);
  EXPECT_EQ(grid_layout({random_sample(64, 64, 6, "")}, style).upscale, 2);
  EXPECT_EQ(grid_layout({random_sample(40, 100, 6, "")}, style).upscale, 4);  // ceil(128 / 40)
  const GridLayout small = grid_layout({random_sample(40, 100, 6, "")}, style);
  EXPECT_EQ(small.cells[0][0].width, 400);
  EXPECT_EQ(small.cells[0][0].height, 160);
  EXPECT_EQ(small.text_scale, 1);
  EXPECT_EQ(grid_layout({random_sample(513, 513, 6, "")}, style).text_scale, 2);
}

TEST(PredictionGrid, CellsShowTheImageTheGroundTruthAndThePredictionInPaletteColours) {
  at::manual_seed(1);
  GridStyle style = test_style();
  style.upscale = 3;
  std::vector<GridSample> samples = {random_sample(17, 23, 6, "big"), random_sample(9, 11, 6, "small")};
  const at::Tensor grid = prediction_grid(samples, style);
  const GridLayout layout = grid_layout(samples, style);
  for (size_t i = 0; i < samples.size(); ++i) {
    const GridSample& s = samples[i];
    const auto& cells = layout.cells[i];
    // The centre of the sample's own area in its cells, and the pixel of the sample it comes from.
    const int64_t cy = s.image.size(0) * 3 / 2, cx = s.image.size(1) * 3 / 2, sy = cy / 3, sx = cx / 3;
    EXPECT_EQ(pixel(grid, cells[0].y + cy, cells[0].x + cx), pixel(s.image, sy, sx)) << i;
    EXPECT_EQ(pixel(grid, cells[1].y + cy, cells[1].x + cx), palette_colour(style, s.label, sy, sx)) << i;
    EXPECT_EQ(pixel(grid, cells[2].y + cy, cells[2].x + cx), palette_colour(style, s.prediction, sy, sx))
        << i;
  }
  // The largest sample fills its cells, pixel for pixel repeated 3 x 3 times.
  const GridRect& big = layout.cells[0][0];
  const at::Tensor expected =
      samples[0].image.repeat_interleave(3, 0).repeat_interleave(3, 1);  // an independent upscale
  EXPECT_TRUE(
      at::equal(grid.slice(0, big.y, big.y + big.height).slice(1, big.x, big.x + big.width), expected));
  // The smaller sample sits top-left; the rest of its cell, e.g. the cell's centre, is background.
  for (const GridRect& cell : layout.cells[1]) {
    EXPECT_EQ(pixel(grid, cell.y + cell.height / 2 + 10, cell.x + cell.width / 2 + 10), style.background);
    EXPECT_EQ(pixel(grid, cell.y + cell.height - 1, cell.x + cell.width - 1), style.background);
  }
}

TEST(PredictionGrid, IgnoredGroundTruthIsNeutralAndTheLegendSaysIgnore) {
  GridStyle style = test_style();
  style.ignore_colour = {250, 251, 252};
  GridSample sample = random_sample(64, 64, 6, "boundaries");
  sample.label.slice(0, 10, 20).fill_(255);  // rows 10..19 unlabelled
  const at::Tensor grid = prediction_grid({sample}, style);
  const GridLayout layout = grid_layout({sample}, style);
  ASSERT_EQ(layout.upscale, 2);
  const GridRect& truth = layout.cells[0][1];
  const GridRect& predicted = layout.cells[0][2];
  for (int64_t x : {0, 31, 63}) {
    EXPECT_EQ(pixel(grid, truth.y + 2 * 15, truth.x + 2 * x), style.ignore_colour);
    EXPECT_EQ(pixel(grid, predicted.y + 2 * 15, predicted.x + 2 * x),
              palette_colour(style, sample.prediction, 15, x));
    EXPECT_EQ(pixel(grid, truth.y + 2 * 30, truth.x + 2 * x), palette_colour(style, sample.label, 30, x));
  }
  EXPECT_EQ(count_colour(grid.slice(0, truth.y, truth.y + truth.height), style.ignore_colour), 64 * 10 * 4);
  const at::Tensor legend = grid.slice(0, layout.legend.y);
  EXPECT_GT(count_colour(legend, style.ignore_colour), 0);

  // With no ignore label, nothing is neutral and the legend has one entry less.
  style.ignore_label = -1;
  const at::Tensor plain = prediction_grid({sample}, style);
  EXPECT_EQ(count_colour(plain, style.ignore_colour), 0);
}

TEST(PredictionGrid, LegendHasASwatchOfEveryClassAndTheHeadingsAreWritten) {
  GridStyle style = test_style();
  const std::vector<GridSample> samples = {random_sample(129, 129, 6, "2007_000033")};
  const at::Tensor grid = prediction_grid(samples, style);
  const GridLayout layout = grid_layout(samples, style);
  const at::Tensor legend = grid.slice(0, layout.legend.y, layout.legend.y + layout.legend.height);
  const int t = layout.text_scale, swatch = (text_height(t) - 2 * t) * (text_height(t) - 2 * t);
  for (size_t k = 0; k < style.palette.size(); ++k)
    EXPECT_GE(count_colour(legend, style.palette[k]), swatch) << style.class_names[k];
  EXPECT_GE(count_colour(legend, style.ignore_colour), swatch);
  EXPECT_GT(count_colour(legend, style.text_colour), 0);
  // The headings and the name: text colour above the cells, on the background.
  for (const GridRect& cell : layout.cells[0]) {
    const at::Tensor above = grid.slice(0, 0, cell.y).slice(1, cell.x, cell.x + cell.width);
    EXPECT_GT(count_colour(above, style.text_colour), 0);
    EXPECT_EQ(count_colour(above, style.text_colour) + count_colour(above, style.background),
              above.numel() / 3);
  }
  // Without class names, every palette colour is listed under its index.
  style.class_names.clear();
  const GridLayout numbered = grid_layout(samples, style);
  const at::Tensor unnamed = prediction_grid(samples, style);
  for (const Colour& colour : style.palette)
    EXPECT_GE(count_colour(unnamed.slice(0, numbered.legend.y), colour), swatch);
}

TEST(PredictionGrid, RefusesInputsThatOnlyABugCanMake) {
  const GridStyle style = test_style();
  const GridSample good = random_sample(8, 10, 6, "good");
  EXPECT_THROW(prediction_grid({}, style), InternalError);
  auto with = [&](auto change) {
    GridSample sample = good;
    change(sample);
    return std::vector<GridSample>{good, sample};
  };
  EXPECT_THROW(prediction_grid(with([](GridSample& s) { s.image = s.image.to(at::kFloat); }), style),
               InternalError);
  EXPECT_THROW(prediction_grid(with([](GridSample& s) { s.image = s.image.select(2, 0); }), style),
               InternalError);
  EXPECT_THROW(prediction_grid(with([](GridSample& s) { s.label = s.label.to(at::kLong); }), style),
               InternalError);
  EXPECT_THROW(prediction_grid(with([](GridSample& s) { s.label = s.label.slice(0, 1); }), style),
               InternalError);
  EXPECT_THROW(prediction_grid(with([](GridSample& s) { s.prediction = s.prediction.slice(1, 2); }), style),
               InternalError);
  EXPECT_THROW(prediction_grid(with([](GridSample& s) { s.prediction = at::Tensor(); }), style),
               InternalError);
  EXPECT_THROW(prediction_grid(with([](GridSample& s) { s.image = s.image.slice(0, 0, 0); }), style),
               InternalError);
  GridStyle bad = style;
  bad.palette.clear();
  bad.class_names.clear();
  EXPECT_THROW(prediction_grid({good}, bad), InternalError);
  bad = style;
  bad.class_names.push_back("one too many");
  EXPECT_THROW(prediction_grid({good}, bad), InternalError);
  bad = style;
  bad.upscale = -1;
  EXPECT_THROW(prediction_grid({good}, bad), InternalError);
}

TEST(BitmapFont, EveryPrintableCharacterDrawsInsideItsBoxAndGlyphsDiffer) {
  std::set<std::vector<uint8_t>> shapes;
  for (int code = 32; code <= 126; ++code) {
    const std::string text(1, static_cast<char>(code));
    for (int scale : {1, 3}) {
      at::Tensor canvas = at::zeros({40, 40, 3}, at::kByte);
      draw_text(canvas, 11, 7, text, {255, 255, 255}, scale);
      const at::Tensor box =
          canvas.slice(0, 7, 7 + text_height(scale)).slice(1, 11, 11 + text_width(text, scale));
      EXPECT_EQ(painted(box), painted(canvas)) << "'" << text << "' at scale " << scale;
      EXPECT_EQ(painted(canvas) > 0, code != ' ') << "'" << text << "'";  // only the space is blank
      if (scale == 1) {
        const at::Tensor glyph = box.select(2, 0).contiguous();
        shapes.insert(
            std::vector<uint8_t>(glyph.data_ptr<uint8_t>(), glyph.data_ptr<uint8_t>() + glyph.numel()));
      }
    }
  }
  EXPECT_EQ(shapes.size(), 95u);  // upper and lower case included, no two glyphs alike
  EXPECT_EQ(text_width("", 2), 0);
  EXPECT_EQ(text_width("abc", 2), 34);
  EXPECT_EQ(text_height(2), 16);
}

TEST(BitmapFont, CharactersOutsideTheFontAreBoxesAndScaleMultipliesPixels) {
  auto draw = [](const std::string& text, int scale) {
    at::Tensor canvas = at::zeros({30, 60, 3}, at::kByte);
    draw_text(canvas, 1, 1, text, {9, 8, 7}, scale);
    return canvas;
  };
  EXPECT_EQ(painted(draw("\n", 1)), 20);  // the box's outline, 5 x 7
  EXPECT_TRUE(at::equal(draw("\xff", 1), draw("\t", 1)));
  EXPECT_EQ(painted(draw("Ag,", 3)), 9 * painted(draw("Ag,", 1)));
  EXPECT_EQ(count_colour(draw("A", 1), {9, 8, 7}), painted(draw("A", 1)));
}

TEST(BitmapFont, ClipsAtTheImagesAndTheSlicesEdges) {
  // Windows of a text drawn whole: each drawn alone, at negative and far coordinates, clips to the
  // same pixels.
  const std::string text = "Clipped: jpqy_{}|";  // 17 characters: 202 x 16 pixels at scale 2
  at::Tensor whole = at::zeros({80, 300, 3}, at::kByte);
  draw_text(whole, 31, 25, text, {255, 0, 0}, 2);
  for (std::array<int64_t, 2> corner :
       {std::array<int64_t, 2>{30, 40}, {20, 150}, {36, 222}, {0, 0}, {32, 100}, {18, 20}}) {
    at::Tensor window = at::zeros({12, 20, 3}, at::kByte);
    draw_text(window, static_cast<int>(31 - corner[1]), static_cast<int>(25 - corner[0]), text, {255, 0, 0},
              2);
    EXPECT_TRUE(
        at::equal(window, whole.slice(0, corner[0], corner[0] + 12).slice(1, corner[1], corner[1] + 20)))
        << corner[0] << ", " << corner[1];
  }
  at::Tensor canvas = at::zeros({20, 20, 3}, at::kByte);
  draw_text(canvas, -1000000, -1000000, text, {1, 1, 1}, 5);
  draw_text(canvas, 1000000, 1000000, text, {1, 1, 1}, 5);
  EXPECT_EQ(painted(canvas), 0);
  // A slice of rows 4..8 and columns 5..11, the text overhanging all four of its edges.
  at::Tensor middle = canvas.slice(0, 4, 9).slice(1, 5, 12);
  draw_text(middle, -2, -1, "gWj#", {1, 1, 1}, 1);
  EXPECT_EQ(painted(middle), painted(canvas));
  EXPECT_GT(painted(middle), 0);
  at::Tensor wrong = at::zeros({20, 20}, at::kByte);
  EXPECT_THROW(draw_text(wrong, 0, 0, "x", {1, 1, 1}, 1), InternalError);
  EXPECT_THROW(draw_text(canvas, 0, 0, "x", {1, 1, 1}, 0), InternalError);
}

}  // namespace
}  // namespace atrous::eval
