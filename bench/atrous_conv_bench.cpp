// Dilated convolutions of DeepLab, forward and backward, through ATen's convolution and through
// model/valid_tap_conv.h, timed interleaved on the same inputs; bench/run-atrous-conv-bench runs it.
// Per layer: each path's forward and backward (input and weight gradients, as in training), the
// backward's ratio to its own forward, and the speed-up of the step (forward + backward).
//
// usage: atrous_conv_bench [--threads 1] [--repetitions 5] [--precision fp32|bf16]
//        [--memory-format contiguous|channels_last] [--device cpu|cuda] [--shapes all|aspp|backbone|demo]
//        [--crop 321 --batch 2]   (the DeepLabV3-ResNet50 shapes: a map of (crop - 1) / 8 + 1)
// Target: valid_taps backward <= 2.5x its own forward at the ASPP shapes, in every dtype and layout.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "arguments.h"
#include "atrous/core/allocator_tuning.h"
#include "atrous/model/memory_format.h"
#include "atrous/model/precision.h"
#include "atrous/model/tap_windows.h"
#include "atrous/model/valid_tap_conv.h"
#include "timing.h"

namespace {

using atrous::model::Precision;

struct Layer {
  std::string name;
  int64_t batch, in_channels, out_channels, groups, size, dilation;
};

// The shapes: DeepLabV3-ResNet50 at output stride 8 and crop 321 (a 41 x 41 map, batch 2), its ASPP
// branches (2048 -> 256) and its dilated layer3 / layer4 3x3 convs; the demo (MobileNetV2, output
// stride 16, crop 65, a 5 x 5 map, batch 8): the separable ASPP's depthwise 3x3s and the backbone's
// last dilated depthwise 3x3; and Xception65's exit-flow depthwise 3x3 at output stride 16.
std::vector<Layer> layers(const std::string& shapes, int64_t crop, int64_t batch) {
  const int64_t map = (crop - 1) / 8 + 1;
  std::vector<Layer> all{{"aspp rate 12", batch, 2048, 256, 1, map, 12},
                         {"aspp rate 24", batch, 2048, 256, 1, map, 24},
                         {"aspp rate 36", batch, 2048, 256, 1, map, 36},
                         {"layer3 rate 2", batch, 256, 256, 1, map, 2},
                         {"layer4 rate 4", batch, 512, 512, 1, map, 4},
                         {"xception dw 2", batch, 1536, 1536, 1536, (crop - 1) / 16 + 1, 2},
                         {"demo aspp dw 6", 8, 320, 320, 320, 5, 6},
                         {"demo aspp dw 18", 8, 320, 320, 320, 5, 18},
                         {"demo block dw 2", 8, 960, 960, 960, 5, 2}};
  std::vector<Layer> chosen;
  for (const Layer& layer : all) {
    const bool demo = layer.name.rfind("demo", 0) == 0, aspp = layer.name.rfind("aspp", 0) == 0;
    if (shapes == "all" || (shapes == "demo" && demo) || (shapes == "aspp" && aspp) ||
        (shapes == "backbone" && !demo && !aspp))
      chosen.push_back(layer);
  }
  if (chosen.empty()) throw std::runtime_error("--shapes " + shapes + ": not all, aspp, backbone or demo");
  return chosen;
}

struct Arguments {
  int threads = 1, repetitions = 5, crop = 321, batch = 2;
  Precision precision = Precision::fp32;
  at::MemoryFormat format = at::MemoryFormat::Contiguous;
  at::Device device = at::kCPU;
  std::string shapes = "all";
};

using atrous::bench::positive_integer;

Arguments parse_arguments(int argc, char** argv) {
  Arguments a;
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (i + 1 >= argc) throw std::runtime_error(name + ": needs a value");
    const std::string value = argv[i + 1];
    if (name == "--threads")
      a.threads = positive_integer(name, value);
    else if (name == "--repetitions")
      a.repetitions = positive_integer(name, value);
    else if (name == "--crop")
      a.crop = positive_integer(name, value);
    else if (name == "--batch")
      a.batch = positive_integer(name, value);
    else if (name == "--precision")
      a.precision = atrous::parse_choice("precision", atrous::model::precision_choices(), value);
    else if (name == "--memory-format")
      a.format = atrous::model::resolve_memory_format(
          atrous::parse_choice("memory-format", atrous::model::memory_format_choices(), value), at::kCPU);
    else if (name == "--device")
      a.device = at::Device(value);
    else if (name == "--shapes")
      a.shapes = value;
    else
      throw std::runtime_error("unknown option " + name);
  }
  return a;
}

struct Times {
  std::vector<double> forward, backward;
};

using Convolution = at::Tensor (*)(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, int64_t);

at::Tensor aten_conv(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t dilation,
                     int64_t groups) {
  const int64_t padding = dilation * (w.size(2) - 1) / 2;
  return at::conv2d(x, w, b, {1, 1}, {padding, padding}, {dilation, dilation}, groups);
}

double seconds_since(std::chrono::steady_clock::time_point start, const at::Device& device) {
  if (device.is_cuda()) at::empty({1}, device).cpu();  // waits for the stream
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void time_once(Convolution convolution, const Arguments& a, const Layer& layer, const at::Tensor& x,
               const at::Tensor& w, Times& times) {
  const auto start = std::chrono::steady_clock::now();
  at::Tensor y;
  {
    const atrous::model::AutocastScope scope(a.precision, a.device);
    y = convolution(x, w, {}, layer.dilation, layer.groups);
  }
  const double forward = seconds_since(start, a.device);
  const auto backward_start = std::chrono::steady_clock::now();
  torch::autograd::backward({y}, {at::ones_like(y)});
  times.forward.push_back(forward);
  times.backward.push_back(seconds_since(backward_start, a.device));
}

void run_layer(const Arguments& a, const Layer& layer) {
  const auto options = at::TensorOptions().device(a.device);
  at::manual_seed(0);
  const at::Tensor x = at::randn({layer.batch, layer.in_channels, layer.size, layer.size}, options)
                           .contiguous(a.format)
                           .requires_grad_();
  const at::Tensor w = at::randn({layer.out_channels, layer.in_channels / layer.groups, 3, 3}, options)
                           .contiguous(a.format)
                           .requires_grad_();
  Times aten, taps;
  for (int repetition = 0; repetition <= a.repetitions; ++repetition) {
    Times& first = repetition % 2 ? aten : taps;
    Times& second = repetition % 2 ? taps : aten;
    time_once(repetition % 2 ? aten_conv : atrous::model::valid_tap_conv2d, a, layer, x, w, first);
    time_once(repetition % 2 ? atrous::model::valid_tap_conv2d : aten_conv, a, layer, x, w, second);
    if (repetition == 0) aten = {}, taps = {};  // warm-up
  }
  using atrous::bench::median;
  const double af = median(aten.forward) * 1e3, ab = median(aten.backward) * 1e3;
  const double tf = median(taps.forward) * 1e3, tb = median(taps.backward) * 1e3;
  std::printf("%-16s %4ldx%-3ld %8.1f %8.1f %6.2f  %8.1f %8.1f %6.2f  %6.0f%%  %6.2fx\n", layer.name.c_str(),
              long(layer.size), long(layer.size), af, ab, ab / af, tf, tb, tb / tf,
              100 * atrous::model::inside_fraction(layer.size, layer.size, 3, layer.dilation),
              (af + ab) / (tf + tb));
}

}  // namespace

int main(int argc, char** argv) {
  atrous::ensure_tuned_allocator(argv);  // the malloc settings of the atrous binaries
  try {
    const Arguments a = parse_arguments(argc, argv);
    const std::vector<Layer> chosen = layers(a.shapes, a.crop, a.batch);  // a bad --shapes before any output
    at::set_num_threads(a.threads);
    std::printf("%s, %s, %s, %d thread(s), median of %d; DeepLabV3-ResNet50 OS 8 at crop %d, batch %d\n",
                a.device.str().c_str(),
                atrous::choice_name(atrous::model::precision_choices(), a.precision).c_str(),
                a.format == at::MemoryFormat::ChannelsLast ? "channels_last" : "contiguous", a.threads,
                a.repetitions, a.crop, a.batch);
    std::printf("%-16s %8s %8s %8s %6s  %8s %8s %6s  %7s  %7s\n", "layer", "map", "aten fwd", "bwd ms", "b/f",
                "taps fwd", "bwd ms", "b/f", "inside", "speedup");
    for (const Layer& layer : chosen) run_layer(a, layer);
  } catch (const std::exception& error) {
    std::cerr << "atrous_conv_bench: " << error.what() << "\n";
    return 2;
  }
  return 0;
}
