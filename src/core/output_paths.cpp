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

}  // namespace atrous
