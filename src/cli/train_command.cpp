#include "atrous/cli/train_command.h"

#include <memory>

#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/dist/world.h"
#include "atrous/train/trainer.h"

namespace atrous::cli {

int TrainCommand::run(const CommandContext& context) {
  std::unique_ptr<train::Trainer> trainer;
  context.collective_setup([&] {
    trainer = std::make_unique<train::Trainer>(options_, context.world, context.log,
                                               effective_config(context.options));
  });
  trainer->connect();
  return trainer->run();
}

}  // namespace atrous::cli
