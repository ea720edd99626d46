#include "atrous/core/output_paths.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "atrous/core/error.h"

namespace atrous {
namespace {

std::filesystem::path resolved(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::path canonical = fs::weakly_canonical(fs::absolute(path), error);
  return error ? fs::absolute(path).lexically_normal() : canonical;
}

}  // namespace

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
  std::vector<fs::path> paths;
  for (const NamedPath& output : outputs)
    paths.push_back(output.path.empty() ? fs::path() : resolved(output.path));
  for (size_t i = 0; i < outputs.size(); ++i)
    for (size_t j = i + 1; j < outputs.size(); ++j)
      if (!outputs[i].path.empty() && !outputs[j].path.empty() && paths[i] == paths[j])
        throw UserError(to_text(outputs[i].option, " '", outputs[i].path, "' and ", outputs[j].option, " '",
                                outputs[j].path, "' are the same file; one would replace the other. ",
                                "Give them different paths"),
                        ATROUS_HERE);
}

void refuse_output_inside(const NamedPath& output, const NamedPath& folder) {
  if (output.path.empty() || folder.path.empty()) return;
  const std::filesystem::path file = resolved(output.path);
  std::filesystem::path within = resolved(folder.path);
  if (within.filename().empty()) within = within.parent_path();  // "out/"
  const auto [end, rest] = std::mismatch(within.begin(), within.end(), file.begin(), file.end());
  if (end == within.end() && rest != file.end())
    throw UserError(
        to_text(output.option, " '", output.path, "' lies inside ", folder.option, " '", folder.path,
                "', whose files this command writes; one could replace the other. Give ", output.option,
                " a path outside it"),
        ATROUS_HERE);
}

void check_output_file(const NamedPath& output) {
  namespace fs = std::filesystem;
  if (output.path.empty()) return;
  std::error_code error;
  if (fs::is_directory(output.path, error))
    throw UserError(to_text(output.option, " '", output.path, "' is a folder; give a file path"),
                    ATROUS_HERE);
  const fs::path parent = fs::absolute(output.path).parent_path();
  if (!fs::is_directory(parent, error))
    throw UserError(
        to_text(output.option, " '", output.path, "' cannot be written: its folder '", parent.string(), "' ",
                fs::exists(parent, error) ? "is not a folder" : "does not exist",
                "; create it, or give another path"),
        ATROUS_HERE);
}

}  // namespace atrous
