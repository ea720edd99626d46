// One training step of atrous's DeepLabV3-ResNet50 (model.head = deeplabv3, output stride 8, the
// torchvision architecture) from the weights bench/model_step_peer.py saved: forward, the logits
// resized to the crop as torchvision's model does, cross-entropy, backward. bench/run-model-bench
// runs both and prints the ratio.
//
// usage: atrous_model_step_bench --threads T --weights FILE [--batch 2] [--crop 321] [--classes 21]
//        [--repetitions 3]      prints `step_seconds <median>`

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "atrous/model/deeplab.h"
#include "atrous/model/weight_import.h"
#include "timing.h"

int main(int argc, char** argv) {
  int threads = 1, batch = 2, crop = 321, classes = 21, repetitions = 3;
  std::string weights;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i], value = argv[i + 1];
    if (name == "--weights")
      weights = value;
    else if (name == "--threads")
      threads = std::stoi(value);
    else if (name == "--batch")
      batch = std::stoi(value);
    else if (name == "--crop")
      crop = std::stoi(value);
    else if (name == "--classes")
      classes = std::stoi(value);
    else if (name == "--repetitions")
      repetitions = std::stoi(value);
    else {
      std::cerr << "unknown option " << name << "\n";
      return 2;
    }
  }
  if (weights.empty()) {
    std::cerr << "usage: atrous_model_step_bench --threads T --weights FILE [--batch B --crop C]\n";
    return 2;
  }
  at::set_num_threads(threads);
  atrous::model::ModelOptions options;
  options.head = atrous::model::DeepLabHead::deeplabv3;
  options.output_stride = 8;
  options.dropout = 0.5;  // torchvision's
  atrous::model::DeepLab net(options, classes);
  atrous::model::import_weights(*net, atrous::model::read_state_dict(weights), "model", {}, false, weights);
  net->train();
  at::manual_seed(0);
  const at::Tensor images = at::rand({batch, 3, crop, crop}) * 255;
  const at::Tensor labels = at::randint(0, classes, {batch, crop, crop});
  std::vector<double> times;
  for (int repetition = 0; repetition <= repetitions; ++repetition) {
    const auto start = std::chrono::steady_clock::now();
    net->zero_grad();
    const at::Tensor logits = net->forward(images).back().logits;
    const at::Tensor full = at::upsample_bilinear2d(logits, {crop, crop}, /*align_corners=*/false);
    at::cross_entropy_loss(full, labels).backward();
    if (repetition > 0)
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::printf("step_seconds %.4f\n", atrous::bench::median(times));
  return 0;
}
