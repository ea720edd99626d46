#pragma once
// Mixed precision: the dtype in which the network's convolutions and matrix products run, through
// LibTorch's autocast (train.precision for training, eval.precision for eval and infer).
//
//   fp32  no autocast: everything in float32 (exact comparisons also need train.tf32 off on GPUs).
//   bf16  autocast to bfloat16: on CPUs (oneDNN's bf16 kernels; fast where the CPU has AVX512_BF16
//         or AMX) and on GPUs of compute capability 8.0 or newer. Same exponent range as float32, so
//         no loss scaling.
//   fp16  autocast to float16, GPUs only; training needs dynamic loss scaling (train/grad_scaler.h).
//
// What autocast leaves in float32: the parameters (master weights) and their gradients, the
// optimizer state, batch-norm statistics and SyncBatchNorm's merge (float64), and every op outside
// autocast's lower-precision list. What leaves the scope in float32: the logits (upcast_logits), so
// the loss, softmax, argmax and the top-k selection never see bf16 or fp16 values.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <optional>
#include <string>

#include "atrous/core/options.h"
#include "atrous/model/scale_outputs.h"

namespace atrous::model {

enum class Precision { fp32, bf16, fp16 };

// The names of train.precision and eval.precision: fp32, bf16, fp16.
const ChoiceValues<Precision>& precision_choices();

// kFloat, kBFloat16 or kHalf.
at::ScalarType precision_dtype(Precision precision);

// An OptionError naming `option` (train.precision, eval.precision) when `precision` cannot run on
// `device`, saying what to use instead: fp16 on a CPU, bf16 on a GPU older than compute capability 8.0.
void check_precision_supported(Precision precision, const c10::Device& device, const std::string& option);

// While alive, autocast to precision_dtype(precision) on device's type (no-op for fp32). Nests; the
// outermost scope clears autocast's cache of lower-precision weight copies when it ends, so a step
// never sees copies of the weights that the previous optimizer step changed. Restores the previous
// state. Thread-local like autocast itself: the thread that runs the forward pass holds it.
class AutocastScope {
 public:
  AutocastScope(Precision precision, const c10::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_type_ = c10::DeviceType::CPU;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

// The dtype autocast runs convolutions in on devices of `type` while it is enabled there (inside an
// AutocastScope), none otherwise. For operations of our own that take a convolution's place
// (model/valid_tap_conv.h): they cast their inputs as autocast would have.
std::optional<at::ScalarType> active_autocast_dtype(c10::DeviceType type);

// The process-wide float32 math of GPUs (no effect without CUDA): tf32 lets cuDNN's convolutions and
// cuBLAS's matrix products round float32 inputs to TensorFloat-32 (PyTorch's default for
// convolutions; off for bit-comparable float32 runs); cudnn_benchmark lets cuDNN time its algorithms
// for each new input shape and keep the fastest (fixed crops make that a one-off cost).
void set_gpu_math(bool tf32, bool cudnn_benchmark);

// Every entry's logits as float32 in the contiguous layout (a no-op for float32 contiguous logits).
void upcast_logits(ScaleOutputs& outputs);

}  // namespace atrous::model
