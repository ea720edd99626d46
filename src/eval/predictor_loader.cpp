#include "atrous/eval/predictor_loader.h"

#include <filesystem>
#include <system_error>

#include "atrous/core/error.h"
#include "atrous/core/ini_text.h"
#include "atrous/core/options.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/weight_import.h"
#include "atrous/train/checkpoint.h"
#include "atrous/train/run_identity.h"

namespace atrous::eval {

void CheckpointInputOptions::declare(OptionTable& table, CheckpointInputOptions& options) {
  table.add("eval.checkpoint", &options.checkpoint, std::string(),
            "the checkpoint (or state dict) to evaluate or predict with; a run directory or its "
            "checkpoints/latest: the run's latest checkpoint",
            "a file written by atrous train, a train.run_dir or its checkpoints/latest");
}

void CheckpointInputOptions::validate() const {
  ATROUS_CHECK_OPTION(!checkpoint.empty(), "eval.checkpoint", checkpoint,
                      "a checkpoint file, a run directory or its checkpoints/latest");
}

std::string CheckpointInputOptions::resolve() {
  ResolvedCheckpoint resolved = resolve_checkpoint_input(checkpoint);
  checkpoint = std::move(resolved.path);
  return resolved.how;
}

std::optional<OptionLayer> CheckpointInputOptions::trained_model_options() const {
  if (checkpoint.empty()) return std::nullopt;
  std::string config, path;
  try {
    path = resolve_checkpoint_input(checkpoint).path;
    config = train::RunIdentity::stored_config(train::load_checkpoint(path));
  } catch (const std::exception&) {
    return std::nullopt;  // load_predictor reads it again and says what is wrong
  }
  OptionLayer layer{to_text("checkpoint '", path, "'"), {}};
  try {
    for (IniEntry& entry : parse_ini(config, "in " + layer.origin))
      if (model::defines_network(entry.key)) layer.entries.push_back(std::move(entry));
  } catch (const OptionError&) {
    return std::nullopt;  // a configuration written by hand into a checkpoint: use the options as given
  }
  return layer;
}

ResolvedCheckpoint resolve_checkpoint_input(const std::string& given) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::path run;
  if (fs::is_directory(given, error)) {
    fs::path folder = fs::path(given).lexically_normal();
    if (folder.filename().empty()) folder = folder.parent_path();  // "run/"
    const bool is_run = fs::is_directory(folder / "checkpoints", error);
    run = is_run ? folder : folder.parent_path();
    if (!is_run && folder.filename() != "checkpoints")
      throw UserError(to_text("eval.checkpoint '", given,
                              "' is a folder that is neither a run directory (no checkpoints/ in it) nor its "
                              "checkpoints folder; give a checkpoint file or a train.run_dir"),
                      ATROUS_HERE);
  } else if (fs::path(given).filename() == "latest" && fs::is_regular_file(given, error) &&
             fs::absolute(given, error).parent_path().filename() == "checkpoints") {
    run = fs::path(given).has_parent_path() ? fs::path(given).parent_path().parent_path() : fs::path("..");
  } else {
    return {given, ""};
  }
  if (run.empty()) run = ".";
  const train::LatestCheckpoint latest = train::latest_checkpoint(run.string());
  if (latest.path.empty())
    throw UserError(to_text("eval.checkpoint '", given, "': the run directory '", run.string(),
                            "' holds no checkpoint yet; train it, or give a checkpoint file"),
                    ATROUS_HERE);
  return {latest.path, to_text("the latest checkpoint of run directory '", run.string(), "'",
                               latest.note.empty() ? "" : "; " + latest.note)};
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
