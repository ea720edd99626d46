#pragma once
// Loading a trained model for prediction (`atrous eval`, `atrous infer`): the checkpoint option the
// two commands share, and load_predictor(), which turns a checkpoint into a ready Predictor.
//
// load_predictor: reads the checkpoint's state dict (an atrous checkpoint or a torch.save dict,
// model/weight_import.h), builds the DeepLab of the model.* options at eval.output_stride when that
// is not 0, with expected_classes classes (0: as many as the state dict's logits layer has), copies
// every weight in (scope model: all must match), moves the model to `device` and wraps it in a
// Predictor of the eval.* options.
// Errors: an unreadable checkpoint, or one without a logits layer when the class count comes from it,
// is a UserError naming the file; weights that do not fit the model (another class count, another
// model.* configuration) are a UserError listing them; bad eval.* values are OptionErrors.

#include <c10/core/Device.h>

#include <cstdint>
#include <optional>
#include <string>

#include "atrous/core/options.h"
#include "atrous/eval/predictor.h"
#include "atrous/model/model_options.h"

namespace atrous::eval {

struct CheckpointInputOptions {
  std::string checkpoint;  // eval.checkpoint: the checkpoint (or state dict) to predict with

  static void declare(OptionTable& table, CheckpointInputOptions& options);
  // OptionError when eval.checkpoint is empty.
  void validate() const;
  // Makes `checkpoint` the file to read (resolve_checkpoint_input) and returns how it was chosen, ""
  // when it was given as a file.
  std::string resolve();
  // The model options the checkpoint was trained with (model::defines_network's, from the effective
  // configuration every atrous checkpoint stores), as the layer that eval and infer parse their
  // options over: a checkpoint alone then builds its own model, and options given now override it.
  // nullopt when eval.checkpoint is empty, cannot be resolved or read, or is a torch.save state dict
  // (no configuration): load_predictor then reports what is wrong, or uses the options as given.
  std::optional<OptionLayer> trained_model_options() const;
};

// The file that eval.checkpoint `given` stands for:
//   - a run directory (a folder holding checkpoints/) or its checkpoints folder: the run's latest
//     checkpoint (train/checkpoint.h's latest_checkpoint: what `latest` names, else the newest
//     step-N.pt, with the note saying why);
//   - a `latest` pointer file (a file of that name in a folder named checkpoints): the checkpoint it
//     names;
//   - any other file: itself (an atrous checkpoint or a torch.save state dict).
// `how` says which for the log. A UserError names `given` for a folder that is neither, and for a run
// that has no checkpoint yet.
struct ResolvedCheckpoint {
  std::string path;
  std::string how;  // "" for a file given as it is
};
ResolvedCheckpoint resolve_checkpoint_input(const std::string& given);

Predictor load_predictor(const model::ModelOptions& model_options, const PredictOptions& predict_options,
                         const std::string& checkpoint, const c10::Device& device, int64_t expected_classes);

}  // namespace atrous::eval
