// model/valid_tap_conv.h against ATen's dilated convolution (the oracle): forward, input, weight and
// bias gradients, over rates from 1 to past the map, odd and even sizes, batch 1 and 3, both layouts,
// dense, grouped and depthwise kernels, with and without bias, in float64, float32 and bfloat16; and
// whole DeepLabV3 / V3+ networks with model.atrous_conv valid_taps against aten.

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "atrous/model/atrous_conv_path.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/memory_format.h"
#include "atrous/model/precision.h"
#include "atrous/model/tap_windows.h"
#include "atrous/model/valid_tap_conv.h"

namespace atrous::model {
namespace {

void expect_window(const TapWindow& window, int64_t begin, int64_t end, int64_t offset) {
  EXPECT_EQ(window.begin, begin);
  EXPECT_EQ(window.end, end);
  EXPECT_EQ(window.offset, offset);
}

TEST(TapWindows, EachTapCoversTheOutputsWhoseInputIsInsideTheMap) {
  // size 5, rate 2: offsets -2, 0, 2.
  const std::vector<TapWindow> windows = tap_windows(5, 3, 2);
  ASSERT_EQ(windows.size(), 3u);
  expect_window(windows[0], 2, 5, -2);
  expect_window(windows[1], 0, 5, 0);
  expect_window(windows[2], 0, 3, 2);
  // A rate reaching past the map leaves the centre tap alone.
  const std::vector<TapWindow> past = tap_windows(5, 3, 5);
  EXPECT_TRUE(past[0].empty());
  EXPECT_EQ(past[1].size(), 5);
  EXPECT_TRUE(past[2].empty());
  // A 5-tap kernel at rate 1 on a map of 2: offsets -2, -1, 0, 1, 2.
  const std::vector<TapWindow> wide = tap_windows(2, 5, 1);
  EXPECT_TRUE(wide[0].empty());
  expect_window(wide[1], 1, 2, -1);
  expect_window(wide[3], 0, 1, 1);
  EXPECT_TRUE(wide[4].empty());
}

TEST(TapWindows, InsideFractionIsTheShareOfMultiplyAddsThatReadTheMap) {
  EXPECT_DOUBLE_EQ(inside_fraction(41, 41, 3, 36), (51.0 / 123) * (51.0 / 123));
  EXPECT_DOUBLE_EQ(inside_fraction(5, 5, 3, 6), 1.0 / 9);
  EXPECT_DOUBLE_EQ(inside_fraction(7, 9, 1, 4), 1.0);
  EXPECT_DOUBLE_EQ(inside_fraction(3, 3, 3, 1), (7.0 / 9) * (7.0 / 9));
}

struct ConvCase {
  int64_t batch, channels, out_channels, groups, height, width, dilation;
  bool bias;
};

std::string describe(const ConvCase& c, at::ScalarType dtype, at::MemoryFormat format) {
  char text[200];
  std::snprintf(text, sizeof text, "batch %ld, %ld -> %ld, groups %ld, %ldx%ld, rate %ld, bias %d, %s, %s",
                long(c.batch), long(c.channels), long(c.out_channels), long(c.groups), long(c.height),
                long(c.width), long(c.dilation), int(c.bias), std::string(c10::toString(dtype)).c_str(),
                format == at::MemoryFormat::ChannelsLast ? "channels_last" : "contiguous");
  return text;
}

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> cases;
  for (int64_t dilation : {1, 2, 3, 4, 6, 9})
    for (auto [height, width] : {std::pair<int64_t, int64_t>{5, 5}, {6, 7}, {8, 3}}) {
      cases.push_back({1, 6, 4, 1, height, width, dilation, true});               // dense
      cases.push_back({3, 4, 6, 2, height, width, dilation, false});              // grouped
      cases.push_back({2, 5, 5, 5, height, width, dilation, dilation % 2 == 0});  // depthwise
    }
  return cases;
}

struct Result {
  at::Tensor output, input_grad, weight_grad, bias_grad;
};

using Convolution = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, int64_t);

at::Tensor aten_conv(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t dilation,
                     int64_t groups) {
  const int64_t padding = dilation * (w.size(2) - 1) / 2;
  return at::conv2d(x, w, b, {1, 1}, {padding, padding}, {dilation, dilation}, groups);
}

// Output and gradients of `convolution` for inputs drawn from a fixed seed in `dtype` and `format`,
// the output gradient a fixed random map (so every output position matters); the inputs rounded to
// `rounding` first when it is given.
Result run(Convolution convolution, const ConvCase& c, at::ScalarType dtype, at::MemoryFormat format,
           int64_t kernel = 3, std::optional<at::ScalarType> rounding = std::nullopt) {
  at::manual_seed(7);
  const auto options = at::TensorOptions().dtype(at::kDouble);
  at::Tensor x = at::randn({c.batch, c.channels, c.height, c.width}, options);
  at::Tensor w = at::randn({c.out_channels, c.channels / c.groups, kernel, kernel}, options);
  at::Tensor b = c.bias ? at::randn({c.out_channels}, options) : at::Tensor();
  at::Tensor grad = at::randn({c.batch, c.out_channels, c.height, c.width}, options);
  if (rounding) {
    x = x.to(*rounding), w = w.to(*rounding), grad = grad.to(*rounding);
    if (c.bias) b = b.to(*rounding);
  }
  x = x.to(dtype).contiguous(format).requires_grad_();
  w = w.to(dtype).contiguous(format).requires_grad_();
  if (c.bias) b = b.to(dtype).requires_grad_();
  const at::Tensor y = convolution(x, w, b, c.dilation, c.groups);
  torch::autograd::backward({y}, {grad.to(dtype)});
  return {y.detach(), x.grad(), w.grad(), c.bias ? b.grad() : at::Tensor()};
}

// max |a - b| / max |b|, in float64.
double relative_error(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor reference = b.to(at::kDouble);
  const double scale = reference.abs().max().item<double>();
  return (a.to(at::kDouble) - reference).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

void expect_close(const Result& ours, const Result& aten, double tolerance, const std::string& what) {
  EXPECT_EQ(ours.output.sizes(), aten.output.sizes()) << what;
  EXPECT_EQ(ours.output.scalar_type(), aten.output.scalar_type()) << what;
  EXPECT_LE(relative_error(ours.output, aten.output), tolerance) << "output, " << what;
  EXPECT_LE(relative_error(ours.input_grad, aten.input_grad), tolerance) << "input gradient, " << what;
  EXPECT_LE(relative_error(ours.weight_grad, aten.weight_grad), tolerance) << "weight gradient, " << what;
  if (aten.bias_grad.defined()) {
    EXPECT_LE(relative_error(ours.bias_grad, aten.bias_grad), tolerance) << "bias gradient, " << what;
  }
  EXPECT_EQ(ours.input_grad.suggest_memory_format(), aten.output.suggest_memory_format()) << what;
}

TEST(ValidTapConv, EqualsAtensDilatedConvolutionInFloat64AndFloat32) {
  for (const ConvCase& c : conv_cases())
    for (at::MemoryFormat format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
      for (auto [dtype, tolerance] :
           {std::pair<at::ScalarType, double>{at::kDouble, 1e-10}, {at::kFloat, 1e-5}})
        expect_close(run(valid_tap_conv2d, c, dtype, format), run(aten_conv, c, dtype, format), tolerance,
                     describe(c, dtype, format));
    }
}

TEST(ValidTapConv, FiveTapKernelsAndTapsPastTheMapInFloat64) {
  for (const ConvCase& c : {ConvCase{2, 3, 4, 1, 4, 9, 1, true}, ConvCase{1, 4, 4, 4, 7, 7, 2, false},
                            ConvCase{1, 3, 2, 1, 2, 2, 1, true}})
    expect_close(run(valid_tap_conv2d, c, at::kDouble, at::MemoryFormat::Contiguous, 5),
                 run(aten_conv, c, at::kDouble, at::MemoryFormat::Contiguous, 5), 1e-10,
                 describe(c, at::kDouble, at::MemoryFormat::Contiguous) + ", 5x5 kernel");
}

// bfloat16: against the float64 result on the same bfloat16 inputs. ATen's own bfloat16 convolution
// is off by up to 1.5% of the largest value here (LibTorch 1.13 on a CPU without AVX512_BF16); the
// valid taps must be within twice ATen's error of each quantity, or 2^-7, whichever is larger.
TEST(ValidTapConv, StaysWithinBfloat16RoundingOfTheExactResult) {
  double worst_ratio = 0;
  for (const ConvCase& c : conv_cases())
    for (at::MemoryFormat format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
      const Result exact = run(aten_conv, c, at::kDouble, format, 3, at::kBFloat16);
      const Result ours = run(valid_tap_conv2d, c, at::kBFloat16, format);
      const Result aten = run(aten_conv, c, at::kBFloat16, format);
      EXPECT_EQ(ours.output.scalar_type(), at::kBFloat16);
      const std::string what = describe(c, at::kBFloat16, format);
      auto pairs = {std::tuple{"output", ours.output, aten.output, exact.output},
                    std::tuple{"input gradient", ours.input_grad, aten.input_grad, exact.input_grad},
                    std::tuple{"weight gradient", ours.weight_grad, aten.weight_grad, exact.weight_grad}};
      for (const auto& [name, our_value, aten_value, exact_value] : pairs) {
        const double our_error = relative_error(our_value, exact_value);
        const double aten_error = relative_error(aten_value, exact_value);
        EXPECT_LE(our_error, std::max(2 * aten_error, 1.0 / 128)) << name << ", " << what;
        worst_ratio = std::max(worst_ratio, our_error / std::max(aten_error, 1e-6));
      }
    }
  std::printf("bfloat16: valid taps' error at most %.2fx ATen's\n", worst_ratio);
}

TEST(ValidTapConv, UnderAutocastCastsAsAConvolutionDoesAndKeepsFloat32Gradients) {
  const ConvCase c{2, 6, 4, 1, 7, 6, 3, true};
  at::manual_seed(3);
  const at::Tensor x = at::randn({c.batch, c.channels, c.height, c.width});
  const at::Tensor w = at::randn({c.out_channels, c.channels, 3, 3}).requires_grad_();
  const at::Tensor b = at::randn({c.out_channels}).requires_grad_();
  at::Tensor ours, aten;
  {
    const AutocastScope scope(Precision::bf16, at::kCPU);
    ours = valid_tap_conv2d(x, w, b, c.dilation, c.groups);
    aten = aten_conv(x, w, b, c.dilation, c.groups);
  }
  EXPECT_EQ(ours.scalar_type(), at::kBFloat16);
  EXPECT_LE(relative_error(ours, aten), 2e-2);
  ours.to(at::kFloat).sum().backward();
  EXPECT_EQ(w.grad().scalar_type(), at::kFloat);
  EXPECT_EQ(b.grad().scalar_type(), at::kFloat);
}

TEST(AtrousConvPath, AutoFollowsTheMeasuredRule) {
  using c10::DeviceType;
  const auto shape = [](int64_t size, int64_t dilation, bool channels_last, DeviceType device) {
    return DilatedConvShape{3, 1, dilation, size, size, channels_last, device};
  };
  // Contiguous on CPUs: valid taps at 75% of the work inside the map or less (ASPP at crop 321).
  EXPECT_TRUE(runs_valid_taps(AtrousConvPath::automatic, shape(41, 12, false, DeviceType::CPU)));  // 65%
  EXPECT_FALSE(runs_valid_taps(AtrousConvPath::automatic, shape(41, 4, false, DeviceType::CPU)));  // 87%
  EXPECT_FALSE(runs_valid_taps(AtrousConvPath::automatic, shape(41, 2, false, DeviceType::CPU)));  // 94%
  EXPECT_TRUE(runs_valid_taps(AtrousConvPath::automatic, shape(5, 2, false, DeviceType::CPU)));    // 54%
  // Channels-last on CPUs: always; GPUs: ATen's unless asked.
  EXPECT_TRUE(runs_valid_taps(AtrousConvPath::automatic, shape(41, 2, true, DeviceType::CPU)));
  EXPECT_FALSE(runs_valid_taps(AtrousConvPath::automatic, shape(41, 36, true, DeviceType::CUDA)));
  EXPECT_TRUE(runs_valid_taps(AtrousConvPath::valid_taps, shape(41, 2, true, DeviceType::CUDA)));
  EXPECT_FALSE(runs_valid_taps(AtrousConvPath::aten, shape(41, 36, false, DeviceType::CPU)));
  // Not dilated, 1x1 or strided: ATen's always.
  EXPECT_FALSE(runs_valid_taps(AtrousConvPath::valid_taps, shape(41, 1, false, DeviceType::CPU)));
  EXPECT_FALSE(runs_valid_taps(AtrousConvPath::valid_taps, {1, 1, 4, 41, 41, false, DeviceType::CPU}));
  EXPECT_FALSE(runs_valid_taps(AtrousConvPath::valid_taps, {3, 2, 2, 41, 41, false, DeviceType::CPU}));
}

// The logits (every entry) and every parameter's gradient of one network built twice from the same
// weights, once per path.
void expect_networks_agree(ModelOptions options, int64_t crop, double tolerance) {
  std::vector<at::Tensor> logits[2], gradients[2];
  for (int path = 0; path < 2; ++path) {
    options.atrous_conv = path == 0 ? AtrousConvPath::aten : AtrousConvPath::valid_taps;
    at::manual_seed(11);
    DeepLab net(options, 5);
    net->to(at::kDouble);
    net->train();
    const at::Tensor images = at::rand({2, 3, crop, crop}, at::kDouble) * 255;
    const ScaleOutputs outputs = net->forward(images);
    at::Tensor loss = at::zeros({}, at::kDouble);
    for (const ScaleOutput& output : outputs) {
      logits[path].push_back(output.logits.detach());
      loss = loss + (output.logits *
                     at::linspace(-1, 1, output.logits.numel(), at::kDouble).view(output.logits.sizes()))
                        .sum();
    }
    loss.backward();
    for (const at::Tensor& parameter : net->parameters()) gradients[path].push_back(parameter.grad());
  }
  ASSERT_EQ(logits[0].size(), logits[1].size());
  for (size_t i = 0; i < logits[0].size(); ++i)
    EXPECT_LE(relative_error(logits[1][i], logits[0][i]), tolerance);
  // Each gradient against its own largest value, or a millionth of the largest gradient of all: a
  // layer that batch norm follows in training mode has a bias gradient of 0 in exact arithmetic,
  // float64 rounding noise here, which no path reproduces.
  ASSERT_EQ(gradients[0].size(), gradients[1].size());
  double largest = 0;
  for (const at::Tensor& gradient : gradients[0])
    largest = std::max(largest, gradient.abs().max().item<double>());
  for (size_t i = 0; i < gradients[0].size(); ++i) {
    const double scale = std::max(gradients[0][i].abs().max().item<double>(), 1e-6 * largest);
    EXPECT_LE((gradients[1][i] - gradients[0][i]).abs().max().item<double>(), tolerance * scale)
        << "parameter " << i << " of " << gradients[0].size();
  }
}

TEST(ValidTapConv, DeepLabV3ResNetAtOutputStride8MatchesTheAtenPath) {
  ModelOptions options;
  options.head = DeepLabHead::deeplabv3;
  options.output_stride = 8;
  options.dropout = 0;
  options.atrous_rates = "3,6,12";
  expect_networks_agree(options, 65, 1e-9);  // a 9 x 9 map: rates 3 and 6 partly inside, 12 past it
}

TEST(ValidTapConv, DeepLabV3PlusSeparableMobileNetMatchesTheAtenPath) {
  ModelOptions options;
  options.backbone = "mobilenet_v2";
  options.aspp_separable = true;
  options.decoder_separable = true;
  options.dropout = 0;
  options.atrous_rates = "2,3,6";
  expect_networks_agree(options, 97, 1e-9);  // a 7 x 7 map at output stride 16: 6 past it
}

}  // namespace
}  // namespace atrous::model
