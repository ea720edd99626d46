#pragma once
// model.memory_format: how the network's 4-D tensors lie in memory.
//
//   contiguous     NCHW, LibTorch's default.
//   channels_last  NHWC strides for the same [N, C, H, W] shapes: the layout that cuDNN's tensor-core
//                  convolutions and oneDNN's CPU kernels work in, so they skip converting every
//                  activation on the way in and out.
//   auto           channels_last on GPUs, contiguous on CPUs: measured with bench/run-training-bench
//                  and tools/gpu-check (bench/README.md has the figures).
//
// Only the convolution weights are converted (use_memory_format); a convolution whose weight is
// channels-last writes channels-last activations, and batch norm, ReLU and the ASPP keep that layout.
// Inputs may stay contiguous. What leaves the network for the loss is made contiguous again
// (model/precision.h's upcast_logits), and checkpoints store every tensor contiguous, so files do
// not depend on this option. Parameters change layout after the ranks' weights have been made equal
// (distributed/model_replication.h), whose broadcasts need contiguous tensors.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include "atrous/core/options.h"

namespace atrous::model {

enum class MemoryFormatChoice { automatic, contiguous, channels_last };

// The names of model.memory_format: auto, contiguous, channels_last.
const ChoiceValues<MemoryFormatChoice>& memory_format_choices();

// The layout `choice` means on `device`.
at::MemoryFormat resolve_memory_format(MemoryFormatChoice choice, const c10::Device& device);

// Every 4-D parameter of `net` in `format`, in place (the parameters stay the same autograd leaves).
void use_memory_format(torch::nn::Module& net, at::MemoryFormat format);

}  // namespace atrous::model
