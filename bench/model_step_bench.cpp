// One training step of atrous's DeepLabV3-ResNet50 (model.head = deeplabv3, output stride 8, the
// torchvision architecture) from the weights bench/model_step_peer.py saved: forward, the logits
// resized to the crop as torchvision's model does, cross-entropy, backward. bench/run-model-bench
// runs both and prints the ratio. --precision bf16 runs the forward pass under autocast and upcasts
// the logits as `atrous train` does (model/precision.h); --memory-format channels_last converts the
// weights as model.memory_format does; --atrous-conv valid_taps|aten|auto runs the dilated
// convolutions as model.atrous_conv does (default auto: what `atrous train` runs).
//
// usage: atrous_model_step_bench --threads T --weights FILE [--batch 2] [--crop 321] [--classes 21]
//        [--repetitions 3] [--precision fp32|bf16] [--memory-format contiguous|channels_last]
//        [--atrous-conv auto|valid_taps|aten]
//        prints `step_seconds <median>` and the median forward and backward seconds

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

#include "arguments.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/memory_format.h"
#include "atrous/model/precision.h"
#include "atrous/model/weight_import.h"
#include "timing.h"

namespace {

struct Arguments {
  int threads = 1, batch = 2, crop = 321, classes = 21, repetitions = 3;
  std::string weights;
  atrous::model::Precision precision = atrous::model::Precision::fp32;
  atrous::model::MemoryFormatChoice memory_format = atrous::model::MemoryFormatChoice::contiguous;
  atrous::model::AtrousConvPath atrous_conv = atrous::model::AtrousConvPath::automatic;
};

using atrous::bench::positive_integer;

bool parse_each_argument(int argc, char** argv, Arguments& a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i], value = argv[i + 1];
    if (name == "--weights")
      a.weights = value;
    else if (name == "--threads")
      a.threads = positive_integer(name, value);
    else if (name == "--batch")
      a.batch = positive_integer(name, value);
    else if (name == "--crop")
      a.crop = positive_integer(name, value);
    else if (name == "--classes")
      a.classes = positive_integer(name, value);
    else if (name == "--repetitions")
      a.repetitions = positive_integer(name, value);
    else if (name == "--precision")
      a.precision = atrous::parse_choice(name.substr(2), atrous::model::precision_choices(), value);
    else if (name == "--memory-format")
      a.memory_format = atrous::parse_choice(name.substr(2), atrous::model::memory_format_choices(), value);
    else if (name == "--atrous-conv")
      a.atrous_conv = atrous::parse_choice(name.substr(2), atrous::model::atrous_conv_path_choices(), value);
    else {
      std::cerr << "unknown option " << name << "\n";
      return false;
    }
  }
  if (a.precision == atrous::model::Precision::fp16)
    throw std::runtime_error(
        "--precision fp16: float16 autocast needs a GPU; this bench runs on the CPU (fp32 or bf16)");
  return true;
}

// false (having said why) for an unknown option, a value that is not one, or no --weights.
bool parse_arguments(int argc, char** argv, Arguments& a) {
  try {
    if (!parse_each_argument(argc, argv, a)) return false;
  } catch (const std::exception& error) {  // a value that is not an integer, or an OptionError
    std::cerr << "atrous_model_step_bench: " << error.what() << "\n";
    return false;
  }
  if (a.weights.empty())
    std::cerr << "usage: atrous_model_step_bench --threads T --weights FILE [--batch B --crop C]\n";
  return !a.weights.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Arguments arguments;
  if (!parse_arguments(argc, argv, arguments)) return 2;
  const auto& [threads, batch, crop, classes, repetitions, weights, precision, memory_format, atrous_conv] =
      arguments;
  at::set_num_threads(threads);
  atrous::model::ModelOptions options;
  options.head = atrous::model::DeepLabHead::deeplabv3;
  options.output_stride = 8;
  options.dropout = 0.5;  // torchvision's
  options.atrous_conv = atrous_conv;
  atrous::model::DeepLab net(options, classes);
  atrous::model::import_weights(*net, atrous::model::read_state_dict(weights), "model", {}, false, weights);
  atrous::model::use_memory_format(*net, atrous::model::resolve_memory_format(memory_format, at::kCPU));
  net->train();
  at::manual_seed(0);
  const at::Tensor images = at::rand({batch, 3, crop, crop}) * 255;
  const at::Tensor labels = at::randint(0, classes, {batch, crop, crop});
  std::vector<double> times, forward_times, backward_times;
  const auto since = [](std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  for (int repetition = 0; repetition <= repetitions; ++repetition) {
    const auto start = std::chrono::steady_clock::now();
    net->zero_grad();
    atrous::model::ScaleOutputs outputs;
    {
      const atrous::model::AutocastScope scope(precision, at::kCPU);
      outputs = net->forward(images);
    }
    atrous::model::upcast_logits(outputs);
    const at::Tensor full =
        at::upsample_bilinear2d(outputs.back().logits, {crop, crop}, /*align_corners=*/false);
    const at::Tensor loss = at::cross_entropy_loss(full, labels);
    const double forward = since(start);
    const auto backward_start = std::chrono::steady_clock::now();
    loss.backward();
    if (repetition > 0) {
      times.push_back(since(start));
      forward_times.push_back(forward);
      backward_times.push_back(since(backward_start));
    }
  }
  std::printf("step_seconds %.4f forward %.4f backward %.4f\n", atrous::bench::median(times),
              atrous::bench::median(forward_times), atrous::bench::median(backward_times));
  return 0;
}
