#pragma once
// A subcommand of the `atrous` binary (`atrous <command> [options]`).
//
// To add one: implement Command in src/cli/<name>_command.cpp, with its header in
// include/atrous/cli/, and list it in make_commands() (src/cli/command.cpp). The front end
// (cli/app.h) adds the options every command shares (--config, --help, log.*, dist.*), parses them,
// brings up the distributed::World, reports parse errors once, prints the effective configuration on rank 0
// and only then calls run().

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atrous/core/options.h"

namespace atrous {
class Logger;
namespace distributed {
class World;
}
}  // namespace atrous

namespace atrous::cli {

struct CommandContext {
  const distributed::World& world;
  Logger& log;
  const OptionTable& options;

  // Runs `setup` on every rank (build the components, which validate their options) and agrees on
  // the outcome: a mistake every rank makes is printed once, and every rank stops cleanly with its
  // exit status (distributed/error_agreement.h). Collective.
  void collective_setup(const std::function<void()>& setup) const;
};

class Command {
 public:
  virtual ~Command() = default;
  virtual std::string name() const = 0;
  // One line for `atrous --help`.
  virtual std::string summary() const = 0;
  // Binds the command's own options; their structs live in the command object.
  virtual void declare(OptionTable& table) = 0;
  // The command's own shorthand turned into its options before parsing (`atrous pack voc --root D`
  // -> `--pack.format voc --pack.root D`); the default keeps the words as they are.
  virtual std::vector<std::string> expand_arguments(std::vector<std::string> args) const { return args; }
  // Option values below the config files, from what the parsed options point to (eval's checkpoint:
  // the model it was trained with). The front end parses the options again over the layer it returns;
  // nullopt (the default): none. Must not throw for a bad input: run() reports that.
  virtual std::optional<OptionLayer> inherited_options() const { return std::nullopt; }
  // Runs on every rank; returns the process exit status.
  virtual int run(const CommandContext& context) = 0;
};

// Every command of the binary, in the order `atrous --help` lists them.
std::vector<std::unique_ptr<Command>> make_commands();

}  // namespace atrous::cli
