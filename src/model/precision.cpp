#include "atrous/model/precision.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "atrous/build_info.h"
#include "atrous/core/error.h"

#if ATROUS_TORCH_HAS_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace atrous::model {
namespace {

// LibTorch 2.4 replaced the per-device autocast functions with ones that take the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(c10::DeviceType type) {
  return at::autocast::is_autocast_enabled(type);
}
void set_autocast_enabled(c10::DeviceType type, bool enabled) {
  at::autocast::set_autocast_enabled(type, enabled);
}
at::ScalarType autocast_dtype(c10::DeviceType type) {
  return at::autocast::get_autocast_dtype(type);
}
void set_autocast_dtype(c10::DeviceType type, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(type, dtype);
}
#else
bool autocast_enabled(c10::DeviceType type) {
  return type == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void set_autocast_enabled(c10::DeviceType type, bool enabled) {
  if (type == c10::DeviceType::CUDA)
    at::autocast::set_enabled(enabled);
  else
    at::autocast::set_cpu_enabled(enabled);
}
at::ScalarType autocast_dtype(c10::DeviceType type) {
  return type == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                       : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype(c10::DeviceType type, at::ScalarType dtype) {
  if (type == c10::DeviceType::CUDA)
    at::autocast::set_autocast_gpu_dtype(dtype);
  else
    at::autocast::set_autocast_cpu_dtype(dtype);
}
#endif

}  // namespace

std::optional<at::ScalarType> active_autocast_dtype(c10::DeviceType type) {
  if (!autocast_enabled(type)) return std::nullopt;
  return autocast_dtype(type);
}

const ChoiceValues<Precision>& precision_choices() {
  static const ChoiceValues<Precision> choices{
      {"fp32", Precision::fp32}, {"bf16", Precision::bf16}, {"fp16", Precision::fp16}};
  return choices;
}

at::ScalarType precision_dtype(Precision precision) {
  switch (precision) {
    case Precision::bf16:
      return at::kBFloat16;
    case Precision::fp16:
      return at::kHalf;
    case Precision::fp32:
      break;
  }
  return at::kFloat;
}

void check_precision_supported(Precision precision, const c10::Device& device, const std::string& option) {
  if (precision == Precision::fp16 && !device.is_cuda())
    throw OptionError(to_text(option, " = fp16 runs on GPUs only (this rank computes on ", device.str(),
                              "); use bf16 on CPUs: the same speed-up, and no loss scaling"),
                      ATROUS_HERE);
#if ATROUS_TORCH_HAS_CUDA
  if (precision == Precision::bf16 && device.is_cuda()) {
    const cudaDeviceProp* properties = at::cuda::getDeviceProperties(device.index());
    if (properties->major < 8)
      throw OptionError(
          to_text(option, " = bf16 needs a GPU of compute capability 8.0 or newer; this ", properties->name,
                  " is ", properties->major, ".", properties->minor, ": use fp16 or fp32"),
          ATROUS_HERE);
  }
#endif
}

AutocastScope::AutocastScope(Precision precision, const c10::Device& device) {
  if (precision == Precision::fp32) return;
  active_ = true;
  device_type_ = device.type();
  was_enabled_ = autocast_enabled(device_type_);
  previous_dtype_ = autocast_dtype(device_type_);
  set_autocast_dtype(device_type_, precision_dtype(precision));
  set_autocast_enabled(device_type_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(device_type_, was_enabled_);
  set_autocast_dtype(device_type_, previous_dtype_);
}

void set_gpu_math(bool tf32, bool cudnn_benchmark) {
  at::globalContext().setAllowTF32CuDNN(tf32);
  at::globalContext().setFloat32MatmulPrecision(tf32 ? "high" : "highest");
  at::globalContext().setBenchmarkCuDNN(cudnn_benchmark);
}

void upcast_logits(ScaleOutputs& outputs) {
  for (ScaleOutput& output : outputs) output.logits = output.logits.to(at::kFloat).contiguous();
}

}  // namespace atrous::model
