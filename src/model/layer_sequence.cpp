#include "atrous/model/layer_sequence.h"

#include <ATen/ATen.h>

#include "atrous/core/error.h"

namespace atrous::model {

void LayerSequenceImpl::add_step(std::string description, Step step, bool in_place) {
  steps_.push_back({std::move(step), std::move(description), in_place});
}

void LayerSequenceImpl::add_relu() {
  add_step(
      "ReLU", [](const at::Tensor& x) { return at::relu_(const_cast<at::Tensor&>(x)); }, true);
}

void LayerSequenceImpl::add_relu6() {
  // hardtanh as torchvision's nn.ReLU6; LibTorch 1.13 has no CPU bf16 kernel for its backward, so
  // bf16 and fp16 activations (train.precision) take clamp, which differs only in the gradient at
  // exactly 0 and 6.
  add_step(
      "ReLU6",
      [](const at::Tensor& x) {
        if (x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kHalf) return at::clamp(x, 0.0, 6.0);
        return at::hardtanh_(const_cast<at::Tensor&>(x), 0.0, 6.0);
      },
      true);
}

void LayerSequenceImpl::add_dropout(double probability) {
  ATROUS_ASSERT(probability >= 0 && probability < 1, "dropout probability ", probability);
  add_step(to_text("Dropout(", probability, ")"), [this, probability](const at::Tensor& x) {
    return probability > 0 ? at::dropout(x, probability, is_training()) : x;
  });
}

void LayerSequenceImpl::add_global_average_pool() {
  add_step("GlobalAveragePool", [](const at::Tensor& x) { return x.mean({2, 3}, /*keepdim=*/true); });
}

at::Tensor LayerSequenceImpl::forward(const at::Tensor& input) {
  return forward_range(input, 0, steps_.size());
}

at::Tensor LayerSequenceImpl::forward_range(const at::Tensor& input, size_t begin, size_t end) {
  ATROUS_ASSERT(begin <= end && end <= steps_.size(), "steps [", begin, ", ", end, ") of ", steps_.size());
  at::Tensor x = input;
  for (size_t i = begin; i < end; ++i) {
    // An in-place step may overwrite what an earlier step made, never the caller's tensor.
    x = steps_[i].in_place && i == begin ? steps_[i].step(x.clone()) : steps_[i].step(x);
  }
  return x;
}

void LayerSequenceImpl::pretty_print(std::ostream& stream) const {
  stream << "Sequence";
  const char* separator = "(";
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (steps_[i].description.empty()) continue;
    stream << separator << i << ": " << steps_[i].description;
    separator = ", ";
  }
  if (std::string(separator) == ", ") stream << ")";
}

}  // namespace atrous::model
