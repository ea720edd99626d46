#include "atrous/cli/command.h"

#include <exception>

#include "atrous/cli/describe_command.h"
#include "atrous/cli/eval_command.h"
#include "atrous/cli/infer_command.h"
#include "atrous/cli/info_command.h"
#include "atrous/cli/pack_command.h"
#include "atrous/cli/train_command.h"
#include "atrous/distributed/error_agreement.h"
#include "atrous/distributed/world.h"

namespace atrous::cli {

void CommandContext::collective_setup(const std::function<void()>& setup) const {
  std::exception_ptr error;
  try {
    setup();
  } catch (...) {
    error = std::current_exception();
  }
  distributed::agree_on_errors(world.comm(), error);
}

std::vector<std::unique_ptr<Command>> make_commands() {
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(std::make_unique<DescribeCommand>());
  commands.push_back(std::make_unique<EvalCommand>());
  commands.push_back(std::make_unique<InferCommand>());
  commands.push_back(std::make_unique<InfoCommand>());
  commands.push_back(std::make_unique<PackCommand>());
  commands.push_back(std::make_unique<TrainCommand>());
  return commands;
}

}  // namespace atrous::cli
