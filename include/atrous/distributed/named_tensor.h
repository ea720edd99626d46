#pragma once
// NamedTensor: a model's parameter or buffer with its name ("backbone.conv1.weight"), as the
// distributed layer receives a model without knowing its modules.

#include <ATen/core/Tensor.h>

#include <string>

namespace atrous::distributed {

struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};

}  // namespace atrous::distributed
