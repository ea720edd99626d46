#pragma once
// The `atrous` front end: `atrous <command> [options]`.
//
//   atrous --help | -h          lists the commands (exit 0); no command at all: usage, exit 2
//   atrous --version            prints the version
//   atrous <command> --help     every option of the command with its default and allowed values
//   atrous <command> [options]  on every rank: parse options (INI file + command line), bring up the
//                               distributed::World, agree on option errors (printed once), install the
//                               rank-0 logger, print the effective configuration and start-up
//                               warnings on rank 0, run the command.
// Exit status: 0 success, 1 error, 2 bad command line or options (cli/guard.h).

namespace atrous::cli {

int run_app(int argc, char** argv);

}  // namespace atrous::cli
