#pragma once
// The option reference: every option of every command as one markdown page (docs/options.md),
// generated from the options' declarations (core/options.h: name, default, allowed values, help), so
// that the page cannot drift from the code. `atrous help options` prints it; the test
// style.option_reference fails when docs/options.md differs from what it prints.
//
// Layout: a short preamble, then one section per option section (ckpt, data, dist, ...), in name
// order, each a table of its options in the order they are declared: the option, its default, the
// values it allows, the commands that take it ("every command" when all do) and its help text.

#include <string>
#include <vector>

#include "atrous/core/options.h"

namespace atrous::cli {

struct CommandOptions {
  std::string command;                      // "train"
  std::vector<OptionTable::Entry> options;  // as the command declares them, shared options included
};

std::string option_reference(const std::vector<CommandOptions>& commands);

}  // namespace atrous::cli
