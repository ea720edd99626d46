#pragma once
// model.atrous_conv: which kernel runs a dilated convolution (stride 1, kernel > 1, dilation > 1).
//
//   aten        ATen's convolution (oneDNN on CPUs, cuDNN on GPUs) over the whole padded map.
//   valid_taps  model/valid_tap_conv.h: each tap only where it reads inside the map.
//   auto        valid_taps where it was measured faster, aten elsewhere; the rule below.
//
// The rule for auto, measured with bench/run-atrous-conv-bench (forward + backward of DeepLab's
// ASPP branches, dilated ResNet and Xception blocks and the demo's depthwise layers, float32, both
// layouts; bench/README.md has the figures):
//   - on CPUs in channels-last, valid_taps: it was faster at every measured shape (1.0-1.2x for
//     ResNet's rate 2 with 94% of the multiply-adds inside the map, 2-6x for ASPP, up to 28x for the
//     demo's ASPP whose taps all but the centre read padding);
//   - on CPUs in the contiguous layout, valid_taps where at most 75% of the dense multiply-adds read
//     inside the map (model/tap_windows.h's inside_fraction): ASPP at 65% and below was 1.4-4x faster,
//     while at 87-94% its copies of the windows cost more than the padding saves (ResNet's rate 2 at
//     0.9x, Xception's depthwise rate 2 at 0.6x);
//   - on GPUs, aten until a measurement on a GPU says otherwise (`model.atrous_conv valid_taps`
//     runs the same function under CUDA).
// Layers that are not dilated (dilation 1, a 1x1 kernel, or stride > 1) always run ATen's.

#include <c10/core/DeviceType.h>

#include <cstdint>

#include "atrous/core/options.h"

namespace atrous::model {

enum class AtrousConvPath { automatic, valid_taps, aten };

// The names of model.atrous_conv: auto, valid_taps, aten.
const ChoiceValues<AtrousConvPath>& atrous_conv_path_choices();

struct DilatedConvShape {
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t height = 1;  // of the input map
  int64_t width = 1;
  bool channels_last = false;  // the input's layout
  c10::DeviceType device = c10::DeviceType::CPU;
};

// The share of inside multiply-adds at or below which auto picks valid_taps for contiguous inputs on CPUs.
constexpr double valid_taps_max_inside_fraction = 0.75;

// Whether a convolution of `shape` runs as valid_tap_conv2d under `path`.
bool runs_valid_taps(AtrousConvPath path, const DilatedConvShape& shape);

}  // namespace atrous::model
