#include "atrous/cli/infer_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/core/output_paths.h"
#include "atrous/data/image_inputs.h"
#include "atrous/distributed/world.h"
#include "atrous/eval/image_prediction.h"
#include "atrous/eval/logits_file.h"

namespace atrous::cli {

void InferCommand::declare(OptionTable& table) {
  model::ModelOptions::declare(table, model_);
  eval::PredictOptions::declare(table, predict_);
  eval::CheckpointInputOptions::declare(table, checkpoint_);
  table.add("infer.input", &input_, std::string(),
            "images, folders of images, or packs, comma-separated (a comma inside a path: \\,)", "paths");
  table.add("infer.out", &out_, std::string(), "the folder for masks and overlays", "a folder");
  table.add("infer.logits_out", &logits_out_, std::string(),
            "also write raw logits to this HDF5 file (one process)", "a file path, or empty");
  table.add("infer.descriptor", &descriptor_, std::string(),
            "the dataset descriptor whose palette paints masks",
            "an INI file, or empty (the pack's palette, else VOC's)");
}

int InferCommand::run(const CommandContext& context) {
  data::ImageInputs inputs;
  std::vector<std::array<uint8_t, 3>> palette;
  std::unique_ptr<eval::Predictor> predictor;
  const c10::Device device = context.world.device();
  context.collective_setup([&] {
    checkpoint_.validate();
    if (const std::string how = checkpoint_.resolve(); !how.empty())
      context.log.info("eval.checkpoint: ", checkpoint_.checkpoint, " (", how, ")");
    ATROUS_CHECK_OPTION(!input_.empty(), "infer.input", input_, "images, folders or packs, comma-separated");
    ATROUS_CHECK_OPTION(!out_.empty(), "infer.out", out_, "a folder for the masks");
    ATROUS_CHECK_OPTION(logits_out_.empty() || context.world.size() == 1, "infer.logits_out", logits_out_,
                        "empty when running on several ranks (the logits file is written by one process)");
    std::error_code error;
    if (std::filesystem::exists(out_, error) && !std::filesystem::is_directory(out_, error))
      throw UserError(
          to_text("infer.out '", out_, "' is a file; give a folder for the masks (created if missing)"),
          ATROUS_HERE);
    inputs = data::resolve_image_inputs(input_);
    eval::check_distinct_outputs(inputs, out_);
    std::vector<NamedPath> read = {{"eval.checkpoint", checkpoint_.checkpoint},
                                   {"infer.descriptor", descriptor_}};
    for (const std::string& config : context.options.config_files()) read.push_back({"--config", config});
    for (const data::ImageInput& item : inputs.items) read.push_back({"infer.input", item.file});
    for (const std::string& entry : data::split_input_list(input_)) read.push_back({"infer.input", entry});
    refuse_overwriting_inputs({"infer.logits_out", logits_out_}, read);
    refuse_output_inside({"infer.logits_out", logits_out_}, {"infer.out", out_});
    check_output_file({"infer.logits_out", logits_out_});
    if (!logits_out_.empty()) eval::check_distinct_logits_keys(inputs);
    palette = data::mask_palette(inputs, descriptor_);
    predictor = std::make_unique<eval::Predictor>(
        eval::load_predictor(model_, predict_, checkpoint_.checkpoint, device, model_.num_classes));
    std::filesystem::create_directories(out_, error);
    if (error || ::access(out_.c_str(), W_OK | X_OK) != 0)
      throw UserError(to_text("cannot write into infer.out '", out_,
                              "': ", error ? error.message() : std::strerror(errno),
                              "; check its permissions, or give another folder"),
                      ATROUS_HERE);
  });

  std::unique_ptr<eval::LogitsFile> logits;
  if (!logits_out_.empty())
    logits = std::make_unique<eval::LogitsFile>(logits_out_, predictor->num_classes());
  const auto& items = inputs.items;
  for (size_t i = size_t(context.world.rank()); i < items.size(); i += size_t(context.world.size())) {
    const data::InputImage input = data::read_image_input(items[i]);
    const eval::ImagePrediction prediction =
        eval::predict_image(*predictor, input, device, logits != nullptr);
    eval::write_mask_images(out_, input.name, prediction, palette);
    if (logits) logits->write(input.name, prediction.logits);
  }
  if (logits) logits->commit();
  context.log.info("predicted ", items.size(), " image(s) into ", out_,
                   logits ? " and raw logits into " + logits_out_ : std::string());
  return 0;
}

}  // namespace atrous::cli
