#pragma once
// `atrous eval --config FILE --eval.checkpoint PATH --eval.data FILE.h5`: the mIoU of a checkpoint on
// a pack, on every rank of the job (eval/evaluator.h). The model is built from the model.* options
// the checkpoint was trained with (its stored configuration; options given now override them, with
// a warning) at eval.output_stride when given, with the pack's classes; its weights come from the
// checkpoint (eval/predictor_loader.h). model.num_classes other than 0 must be the pack's.
// Rank 0 prints the per-class table and writes eval.out (JSON); with eval.visualize N also a picture
// of the predictions on the first N samples, eval.visualize_out (eval/prediction_preview.h).

#include "atrous/cli/command.h"
#include "atrous/eval/predictor.h"
#include "atrous/eval/predictor_loader.h"
#include "atrous/model/model_options.h"

namespace atrous::cli {

class EvalCommand : public Command {
 public:
  std::string name() const override { return "eval"; }
  std::string summary() const override {
    return "evaluate a checkpoint on a pack: per-class IoU, mIoU, pixel accuracy (multi-scale, flip)";
  }
  void declare(OptionTable& table) override;
  std::optional<OptionLayer> inherited_options() const override {
    return checkpoint_.trained_model_options();
  }
  int run(const CommandContext& context) override;

 private:
  model::ModelOptions model_;
  eval::PredictOptions predict_;
  eval::CheckpointInputOptions checkpoint_;
  std::string data_, out_;
  int visualize_ = 0;          // eval.visualize
  std::string visualize_out_;  // eval.visualize_out
};

}  // namespace atrous::cli
