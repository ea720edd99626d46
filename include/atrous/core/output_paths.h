#pragma once
// refuse_overwriting_inputs: a file a command is about to write must not be one of the files it reads;
// refuse_shared_outputs: nor another of the files it writes; refuse_output_inside: nor lie in a
// folder another of its outputs fills; check_output_file: and it must be writable as a file at all.
//
// `output` is the option and the path the command will write; `inputs` the options and paths it
// reads (empty paths are skipped). When the output exists and is the same file as an existing input
// (std::filesystem::equivalent: another spelling of the path, or a link to the file, included), it
// throws a UserError naming both options and the path and saying to give the output another path.
// An output that does not exist yet replaces nothing. Call it before anything is written, where the
// command checks its options.

#include <string>
#include <vector>

namespace atrous {

struct NamedPath {
  std::string option;  // "eval.out"
  std::string path;
};

void refuse_overwriting_inputs(const NamedPath& output, const std::vector<NamedPath>& inputs);

// A UserError naming both options when two of a command's outputs are the same file (the same path
// once made absolute and normalised, with the links of its existing part resolved), whether it exists
// yet or not: one write would replace the other. Empty paths are skipped.
void refuse_shared_outputs(const std::vector<NamedPath>& outputs);

// A UserError naming both options when the file `output` lies inside `folder` (at any depth, links
// of the existing part resolved), where another output of the command writes files of names it does
// not choose (infer.logits_out inside infer.out: a mask named like it would be replaced, or replace
// it). Empty paths are skipped.
void refuse_output_inside(const NamedPath& output, const NamedPath& folder);

// A UserError naming the option when `output` cannot be written as a file: it is an existing folder,
// or its folder does not exist or is not a folder. Checked with the options, so that the command does
// not find out after all its work. Empty paths are skipped.
void check_output_file(const NamedPath& output);

}  // namespace atrous
