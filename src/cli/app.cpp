#include "atrous/cli/app.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "atrous/build_info.h"
#include "atrous/cli/command.h"
#include "atrous/cli/guard.h"
#include "atrous/cli/option_reference.h"
#include "atrous/core/blas.h"
#include "atrous/core/environment.h"
#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/distributed/error_agreement.h"
#include "atrous/distributed/world.h"

namespace atrous::cli {
namespace {

using Commands = std::vector<std::unique_ptr<Command>>;

std::string usage(const Commands& commands) {
  std::string text = "usage: atrous <command> [options]\n\ncommands:\n";
  for (const auto& command : commands) {
    std::string name = command->name();
    text +=
        "  " + name + std::string(name.size() < 10 ? 10 - name.size() : 1, ' ') + command->summary() + "\n";
  }
  text +=
      "\n`atrous <command> --help` lists a command's options. Options are written --section.name VALUE\n"
      "and can also come from an INI file given with --config FILE ([section] then name = value);\n"
      "the command line overrides the file. `atrous help options` prints every option of every command.\n"
      "Exit status: 0 success, 1 error, 2 bad command line or options.\n";
  return text;
}

// Every component's options that any command shares.
struct SharedOptions {
  LogOptions log;
  distributed::WorldOptions world;

  void declare(OptionTable& table) {
    LogOptions::declare(table, log);
    distributed::WorldOptions::declare(table, world);
  }
};

// The option names that the other commands declare: a shared config file may hold them.
std::set<std::string> options_of_other_commands(const Commands& commands, const Command& self) {
  std::set<std::string> names;
  for (const auto& command : commands) {
    if (command.get() == &self) continue;
    OptionTable table;
    SharedOptions shared;
    shared.declare(table);
    command->declare(table);
    for (const auto& entry : table.entries()) names.insert(entry.name);
  }
  return names;
}

// `atrous help options`: the option reference of every command (cli/option_reference.h).
std::string every_option(const Commands& commands) {
  std::vector<CommandOptions> tables;
  for (const auto& command : commands) {
    OptionTable table;
    SharedOptions shared;
    shared.declare(table);
    command->declare(table);
    tables.push_back({command->name(), table.entries()});
    for (OptionTable::Entry& entry : tables.back().options)
      entry.current_text = nullptr;  // bound to `shared`
  }
  return option_reference(tables);
}

bool asks_for_help(const std::vector<std::string>& args) {
  for (const auto& arg : args)
    if (arg == "--help" || arg == "-h") return true;
  return false;
}

void report_start(const distributed::World& world, const OptionTable& table, const std::string& command) {
  Logger& log = process_logger();
  if (log.prints(LogLevel::info)) {  // every option at debug; at info the few a user gave
    const bool every = log.prints(LogLevel::debug);
    log.info("atrous ", ATROUS_VERSION, " ", command, ": effective configuration, ",
             every ? "every option" : "the options not at their default (log.level debug lists every one)",
             command == "train" ? "; RUN_DIR/config.ini holds every one" : "");
    std::cout << effective_config(table, /*only_given=*/!every) << std::flush;
  }
  if (!table.inherited_origin().empty()) log.info("model options from ", table.inherited_origin());
  for (const std::string& line : overridden_inherited_options(table))
    log.warn("option ", line, ": the weights may not fit the model built now");
  log.info("world: ", world.size(), " rank(s) on ", world.node_count(), " node(s); rank 0 uses ",
           world.threads(), " thread(s) (", world.thread_budget().reason, ") on ", world.device().str());
  BlasLibrary blas = loaded_blas();
  if (blas.kind == BlasKind::reference)
    log.warn("LibTorch runs on the reference BLAS (", blas.path,
             "), several times slower than an "
             "optimised one; install libopenblas0-openmp (launch/install-deps does)");
  // More threads than cpus time-slice every parallel region (1000 threads on 2 cpus: ~100x slower,
  // and SIGTERM waits for the step); busy-waiting OpenMP threads make it worse.
  const bool oversubscribed = world.threads() * world.ranks_sharing_cpus() > world.cpus_available();
  const auto wait_policy = environment_variable("OMP_WAIT_POLICY");
  const bool passive = wait_policy && (*wait_policy == "PASSIVE" || *wait_policy == "passive");
  if (oversubscribed)
    log.warn(world.ranks_sharing_cpus(), " rank(s) x ", world.threads(), " thread(s) (",
             world.thread_budget().reason, ") exceed the ", world.cpus_available(),
             " cpu(s) they share: every step runs many times slower; use dist.threads ",
             std::max(1, world.cpus_available() / world.ranks_sharing_cpus()), " or less",
             passive ? "" : " (and export OMP_WAIT_POLICY=PASSIVE when cpus are shared on purpose)");
}

int run_command(Command& command, const Commands& commands, std::vector<std::string> args, int argc,
                char** argv) {
  args = command.expand_arguments(std::move(args));
  OptionTable table;
  SharedOptions shared;
  shared.declare(table);
  command.declare(table);
  if (asks_for_help(args)) {
    std::cout << "usage: atrous " << command.name() << " [options]\n\n"
              << command.summary() << "\n\noptions:\n"
              << options_help(table);
    return 0;
  }
  return run_guarded([&] {
    std::exception_ptr error;
    try {
      const std::set<std::string> elsewhere = options_of_other_commands(commands, command);
      parse_options(table, args, elsewhere);
      if (const std::optional<OptionLayer> inherited = command.inherited_options())
        parse_options(table, args, elsewhere, &*inherited);
    } catch (...) {
      error = std::current_exception();
    }
    distributed::World world(&argc, &argv, error ? distributed::WorldOptions{} : shared.world);
    if (!error) {
      try {
        set_process_logger(std::make_unique<Logger>(shared.log, world.is_root(), std::cout, std::cerr));
      } catch (...) {
        error = std::current_exception();
      }
    }
    distributed::agree_on_errors(world.comm(), error);
    report_start(world, table, command.name());
    return command.run(CommandContext{world, process_logger(), table});
  });
}

}  // namespace

int run_app(int argc, char** argv) {
  install_terminate_handler();
  Commands commands = make_commands();
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) {
    std::cerr << usage(commands);
    return 2;
  }
  if (words.size() > 1 && words[0] == "help") {  // `atrous help options`; anything else is a mistake
    if (words.size() == 2 && words[1] == "options") {
      std::cout << every_option(commands);
      return 0;
    }
    print_error(to_text("`atrous help ", words[1], words.size() > 2 ? " ..." : "",
                        "` is not a help topic; `atrous help options` lists every option, "
                        "`atrous <command> --help` one command's"));
    return 2;
  }
  if (words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
    std::cout << usage(commands);
    return 0;
  }
  if (words[0] == "--version") {
    std::cout << "atrous " << ATROUS_VERSION << "\n";
    return 0;
  }
  std::vector<std::string> names;
  for (const auto& command : commands) {
    if (command->name() == words[0])
      return run_command(*command, commands, {words.begin() + 1, words.end()}, argc, argv);
    names.push_back(command->name());
  }
  std::string suggestion = closest_name(words[0], names);
  print_error(to_text("unknown command '", words[0], "'",
                      suggestion.empty() ? "" : "; did you mean '" + suggestion + "'?",
                      "; `atrous --help` lists the commands"));
  return 2;
}

}  // namespace atrous::cli
