#include "atrous/cli/eval_command.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/distributed/make_communicator.h"
#include "atrous/distributed/world.h"
#include "atrous/eval/evaluator.h"
#include "atrous/model/weight_import.h"

namespace atrous::cli {

void EvalCommand::declare(OptionTable& table) {
  model::ModelOptions::declare(table, model_);
  eval::PredictOptions::declare(table, predict_);
  table.add("eval.checkpoint", &checkpoint_, std::string(), "the checkpoint (or state dict) to evaluate",
            "a file written by atrous train");
  table.add("eval.data", &data_, std::string(), "the pack to evaluate on", "an HDF5 pack");
  table.add("eval.out", &out_, std::string("eval.json"), "where rank 0 writes the metrics as JSON",
            "a file path");
}

int EvalCommand::run(const CommandContext& context) {
  std::unique_ptr<data::PackReader> pack;
  std::unique_ptr<eval::Predictor> predictor;
  context.collective_setup([&] {
    ATROUS_CHECK_OPTION(!checkpoint_.empty(), "eval.checkpoint", checkpoint_, "a checkpoint file");
    ATROUS_CHECK_OPTION(!data_.empty(), "eval.data", data_, "a pack written by atrous pack");
    const auto weights = model::read_state_dict(checkpoint_);
    pack = std::make_unique<data::PackReader>(data_);
    model::ModelOptions options = model_;
    if (predict_.output_stride != 0) {
      ATROUS_CHECK_OPTION(
          predict_.output_stride == 8 || predict_.output_stride == 16 || predict_.output_stride == 32,
          "eval.output_stride", predict_.output_stride, "0, 8, 16 or 32");
      options.output_stride = predict_.output_stride;
    }
    model::DeepLab net(options, pack->metadata().num_classes);
    model::import_weights(*net, weights, "model", {}, false, checkpoint_);
    net->to(context.world.device());
    predictor = std::make_unique<eval::Predictor>(net, predict_);
  });
  std::unique_ptr<distributed::Communicator> comm =
      distributed::make_communicator(context.world, distributed::CommunicatorOptions{});
  const eval::EvalResult result = eval::evaluate(*predictor, *pack, *comm, context.world.device());
  if (!context.world.is_root()) return 0;
  const auto& names = pack->metadata().class_names;
  context.log.info("evaluated ", checkpoint_, " on ", data_, " (scales ", predict_.scales,
                   predict_.flip ? ", flipped too" : "", ")\n", eval::metrics_table(result, names));
  std::ofstream out(out_, std::ios::trunc);
  out << eval::metrics_json(result, names) << "\n";
  if (!out) throw UserError(to_text("cannot write '", out_, "'; check eval.out"), ATROUS_HERE);
  return 0;
}

}  // namespace atrous::cli
