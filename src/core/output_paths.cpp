#include "atrous/core/output_paths.h"

#include <filesystem>
#include <system_error>

#include "atrous/core/error.h"

namespace atrous {

void refuse_overwriting_inputs(const NamedPath& output, const std::vector<NamedPath>& inputs) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (output.path.empty() || !fs::exists(output.path, error)) return;
  for (const NamedPath& input : inputs) {
    if (input.path.empty() || !fs::exists(input.path, error)) continue;
    if (!fs::equivalent(output.path, input.path, error)) continue;
    throw UserError(
        to_text(output.option, " '", output.path, "' is the file that ", input.option, " '", input.path,
                "' reads; writing it would replace that input. Give ", output.option, " another path"),
        ATROUS_HERE);
  }
}

void refuse_shared_outputs(const std::vector<NamedPath>& outputs) {
  namespace fs = std::filesystem;
  std::vector<fs::path> resolved;
  for (const NamedPath& output : outputs) {
    std::error_code error;
    const fs::path path =
        output.path.empty() ? fs::path() : fs::weakly_canonical(fs::absolute(output.path), error);
    resolved.push_back(error ? fs::absolute(output.path).lexically_normal() : path);
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    for (size_t j = i + 1; j < outputs.size(); ++j)
      if (!outputs[i].path.empty() && !outputs[j].path.empty() && resolved[i] == resolved[j])
        throw UserError(to_text(outputs[i].option, " '", outputs[i].path, "' and ", outputs[j].option, " '",
                                outputs[j].path, "' are the same file; one would replace the other. ",
                                "Give them different paths"),
                        ATROUS_HERE);
}

}  // namespace atrous
