#include "atrous/eval/predictor_loader.h"

#include "atrous/core/options.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/weight_import.h"

namespace atrous::eval {

void CheckpointInputOptions::declare(OptionTable& table, CheckpointInputOptions& options) {
  table.add("eval.checkpoint", &options.checkpoint, std::string(),
            "the checkpoint (or state dict) to evaluate or predict with", "a file written by atrous train");
}

void CheckpointInputOptions::validate() const {
  ATROUS_CHECK_OPTION(!checkpoint.empty(), "eval.checkpoint", checkpoint, "a checkpoint file");
}

Predictor load_predictor(const model::ModelOptions& model_options, const PredictOptions& predict_options,
                         const std::string& checkpoint, const c10::Device& device, int64_t expected_classes) {
  predict_options.validate();
  const auto state_dict = model::read_state_dict(checkpoint);
  model::ModelOptions options = model_options;
  if (predict_options.output_stride != 0) options.output_stride = predict_options.output_stride;
  const int64_t classes =
      expected_classes > 0 ? expected_classes : model::num_classes_in_state_dict(state_dict, checkpoint);
  model::DeepLab net(options, classes);
  model::import_weights(*net, state_dict, "model", {}, false, checkpoint);
  net->to(device);
  model::use_memory_format(*net, model::resolve_memory_format(options.memory_format, device));
  return Predictor(net, predict_options);
}

}  // namespace atrous::eval
