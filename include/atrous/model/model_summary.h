#pragma once
// The module tree of a model as `atrous describe` prints it: one line per module, indented by depth,
// with its name, its description and the number of parameters it holds (itself and below), then
// the total. Modules deeper than max_depth are folded into their parent's count.

#include <torch/nn/module.h>

#include <string>

namespace atrous::model {

std::string module_tree(const torch::nn::Module& root, int max_depth);
int64_t parameter_count(const torch::nn::Module& module);

}  // namespace atrous::model
