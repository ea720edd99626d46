#pragma once
// `atrous describe --config FILE`: what a model configuration builds, without training it.
//
// Rank 0 prints the module tree (to --describe.depth levels) with each module's parameter count, the
// total, and for the configured crop (data.crop_size) the input and logits size of every pyramid
// scale and the shape of every output the loss would see (model/multi_scale.h), from a real forward
// pass in evaluation mode. The class count is model.num_classes. With eval.checkpoint (a checkpoint
// or a run directory) the model options are the ones it was trained with (options given override
// them) and, when model.num_classes is 0, the class count is its logits layer's.

#include "atrous/cli/command.h"
#include "atrous/data/augmentation.h"
#include "atrous/eval/predictor_loader.h"
#include "atrous/model/model_options.h"

namespace atrous::cli {

class DescribeCommand : public Command {
 public:
  std::string name() const override { return "describe"; }
  std::string summary() const override {
    return "print a model's modules, parameter counts and output shapes for the configured crop";
  }
  void declare(OptionTable& table) override;
  std::optional<OptionLayer> inherited_options() const override {
    return checkpoint_.trained_model_options();
  }
  int run(const CommandContext& context) override;

 private:
  model::ModelOptions model_;
  data::AugmentOptions augment_;
  eval::CheckpointInputOptions checkpoint_;
  int depth_ = 3;
};

}  // namespace atrous::cli
