#include "atrous/model/model_summary.h"

#include <iomanip>
#include <sstream>

namespace atrous::model {
namespace {

std::string description(const torch::nn::Module& module) {
  std::ostringstream text;
  module.pretty_print(text);
  return text.str();
}

void print_tree(std::ostringstream& out, const std::string& name, const torch::nn::Module& module, int depth,
                int max_depth) {
  const int64_t count = parameter_count(module);
  std::ostringstream label;
  label << std::string(2 * depth, ' ') << name << "  " << description(module);
  out << std::left << std::setw(88) << label.str() << " " << std::right << std::setw(12) << count << "\n";
  if (depth >= max_depth) return;
  for (const auto& child : module.named_children())
    print_tree(out, child.key(), *child.value(), depth + 1, max_depth);
}

}  // namespace

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& parameter : module.parameters(/*recurse=*/true)) count += parameter.numel();
  return count;
}

std::string module_tree(const torch::nn::Module& root, int max_depth) {
  std::ostringstream out;
  out << std::left << std::setw(88) << "module"
      << " " << std::right << std::setw(12) << "parameters"
      << "\n";
  print_tree(out, "model", root, 0, max_depth);
  out << std::left << std::setw(88) << "total"
      << " " << std::right << std::setw(12) << parameter_count(root) << "\n";
  return out.str();
}

}  // namespace atrous::model
