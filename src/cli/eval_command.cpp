#include "atrous/cli/eval_command.h"

#include <algorithm>
#include <fstream>
#include <memory>
#include <vector>

#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/core/output_file.h"
#include "atrous/core/output_paths.h"
#include "atrous/data/image_io.h"
#include "atrous/data/pack_reader.h"
#include "atrous/distributed/make_communicator.h"
#include "atrous/distributed/world.h"
#include "atrous/eval/evaluator.h"
#include "atrous/eval/prediction_preview.h"

namespace atrous::cli {

void EvalCommand::declare(OptionTable& table) {
  model::ModelOptions::declare(table, model_);
  eval::PredictOptions::declare(table, predict_);
  eval::CheckpointInputOptions::declare(table, checkpoint_);
  table.add("eval.data", &data_, std::string(), "the pack to evaluate on", "an HDF5 pack");
  table.add("eval.out", &out_, std::string("eval.json"), "where rank 0 writes the metrics as JSON",
            "a file path");
  table.add("eval.visualize", &visualize_, 0,
            "draw the predictions on the first N samples (image | ground truth | prediction, with a legend) "
            "into eval.visualize_out; 0: none",
            "an integer >= 0");
  table.add("eval.visualize_out", &visualize_out_, std::string("predictions.png"),
            "where rank 0 writes eval.visualize's picture", "a PNG file path");
}

int EvalCommand::run(const CommandContext& context) {
  std::unique_ptr<data::PackReader> pack;
  std::unique_ptr<eval::Predictor> predictor;
  context.collective_setup([&] {
    checkpoint_.validate();
    if (const std::string how = checkpoint_.resolve(); !how.empty())
      context.log.info("eval.checkpoint: ", checkpoint_.checkpoint, " (", how, ")");
    ATROUS_CHECK_OPTION(!data_.empty(), "eval.data", data_, "a pack written by atrous pack");
    ATROUS_CHECK_OPTION(visualize_ >= 0, "eval.visualize", visualize_, "an integer >= 0");
    ATROUS_CHECK_OPTION(visualize_ == 0 || !visualize_out_.empty(), "eval.visualize_out", visualize_out_,
                        "a PNG file path");
    std::vector<NamedPath> read = {{"eval.checkpoint", checkpoint_.checkpoint}, {"eval.data", data_}};
    for (const std::string& config : context.options.config_files()) read.push_back({"--config", config});
    refuse_overwriting_inputs({"eval.out", out_}, read);
    check_output_file({"eval.out", out_});
    if (visualize_ > 0) {
      check_output_file({"eval.visualize_out", visualize_out_});
      refuse_overwriting_inputs({"eval.visualize_out", visualize_out_}, read);
      refuse_shared_outputs({{"eval.out", out_}, {"eval.visualize_out", visualize_out_}});
    }
    pack = std::make_unique<data::PackReader>(data_);
    eval::require_samples(*pack);
    const int64_t classes = pack->metadata().num_classes;
    ATROUS_CHECK_OPTION(model_.num_classes == 0 || model_.num_classes == classes, "model.num_classes",
                        model_.num_classes,
                        to_text("0 or ", classes, ", the class count of eval.data '", data_, "'"));
    predictor = std::make_unique<eval::Predictor>(
        eval::load_predictor(model_, predict_, checkpoint_.checkpoint, context.world.device(), classes));
  });
  std::unique_ptr<distributed::Communicator> comm =
      distributed::make_communicator(context.world, distributed::CommunicatorOptions{});
  const eval::EvalResult result = eval::evaluate(*predictor, *pack, *comm, context.world.device());
  if (!context.world.is_root()) return 0;
  const auto& names = pack->metadata().class_names;
  context.log.info("evaluated ", checkpoint_.checkpoint, " on ", data_, " (scales ", predict_.scales,
                   predict_.flip ? ", flipped too" : "", ")\n", eval::metrics_table(result, names));
  write_file_atomically(out_, eval::metrics_json(result, names) + "\n");
  if (visualize_ > 0) {
    data::write_rgb_png(visualize_out_,
                        eval::preview_predictions(*predictor, *pack, visualize_, context.world.device()));
    context.log.info("predictions on ", std::min<int64_t>(visualize_, pack->size()), " samples drawn in ",
                     visualize_out_);
  }
  return 0;
}

}  // namespace atrous::cli
