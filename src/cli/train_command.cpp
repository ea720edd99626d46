#include "atrous/cli/train_command.h"

#include <memory>

#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/data/pack_reader.h"
#include "atrous/distributed/world.h"
#include "atrous/eval/evaluator.h"
#include "atrous/eval/training_evaluation.h"
#include "atrous/train/trainer.h"

namespace atrous::cli {

int TrainCommand::run(const CommandContext& context) {
  std::unique_ptr<train::PreparedTraining> prepared;
  std::unique_ptr<data::PackReader> val_pack;
  context.collective_setup([&] {
    prepared =
        train::prepare_training(options_, context.world, context.log, effective_config(context.options));
    if (options_.run.evaluates()) {
      val_pack = std::make_unique<data::PackReader>(options_.data.val_pack);
      eval::require_samples(*val_pack);
    }
  });
  const auto evaluation = [&](std::shared_ptr<model::DeepLabImpl> net, distributed::Communicator& comm) {
    return eval::training_evaluation(std::move(net), *val_pack, comm, context.world.device(),
                                     options_.run.precision,
                                     options_.run.tensorboard ? options_.run.tensorboard_images : 0);
  };
  train::Trainer trainer(std::move(prepared), evaluation);
  return trainer.run();
}

}  // namespace atrous::cli
