#pragma once
// `atrous train --config FILE [--section.option value ...]`: trains a DeepLab data-parallel on
// every rank of the job (train/trainer.h). Exit status 0 when train.steps are done,
// train::preempted_exit_status (75) after a preemption checkpoint, 1 or 2 on errors. With
// train.eval_every, the model is evaluated on data.val (eval/evaluator.h) during training.

#include "atrous/cli/command.h"
#include "atrous/train/train_options.h"

namespace atrous::cli {

class TrainCommand : public Command {
 public:
  std::string name() const override { return "train"; }
  std::string summary() const override { return "train a DeepLab on every rank of the job (data-parallel)"; }
  void declare(OptionTable& table) override { train::TrainerOptions::declare(table, options_); }
  int run(const CommandContext& context) override;

 private:
  train::TrainerOptions options_;
};

}  // namespace atrous::cli
