#include "atrous/cli/eval_command.h"

#include <fstream>
#include <memory>

#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/data/pack_reader.h"
#include "atrous/distributed/make_communicator.h"
#include "atrous/distributed/world.h"
#include "atrous/eval/evaluator.h"

namespace atrous::cli {

void EvalCommand::declare(OptionTable& table) {
  model::ModelOptions::declare(table, model_);
  eval::PredictOptions::declare(table, predict_);
  eval::CheckpointInputOptions::declare(table, checkpoint_);
  table.add("eval.data", &data_, std::string(), "the pack to evaluate on", "an HDF5 pack");
  table.add("eval.out", &out_, std::string("eval.json"), "where rank 0 writes the metrics as JSON",
            "a file path");
}

int EvalCommand::run(const CommandContext& context) {
  std::unique_ptr<data::PackReader> pack;
  std::unique_ptr<eval::Predictor> predictor;
  context.collective_setup([&] {
    checkpoint_.validate();
    ATROUS_CHECK_OPTION(!data_.empty(), "eval.data", data_, "a pack written by atrous pack");
    pack = std::make_unique<data::PackReader>(data_);
    eval::require_samples(*pack);
    predictor = std::make_unique<eval::Predictor>(eval::load_predictor(
        model_, predict_, checkpoint_.checkpoint, context.world.device(), pack->metadata().num_classes));
  });
  std::unique_ptr<distributed::Communicator> comm =
      distributed::make_communicator(context.world, distributed::CommunicatorOptions{});
  const eval::EvalResult result = eval::evaluate(*predictor, *pack, *comm, context.world.device());
  if (!context.world.is_root()) return 0;
  const auto& names = pack->metadata().class_names;
  context.log.info("evaluated ", checkpoint_.checkpoint, " on ", data_, " (scales ", predict_.scales,
                   predict_.flip ? ", flipped too" : "", ")\n", eval::metrics_table(result, names));
  std::ofstream out(out_, std::ios::trunc);
  out << eval::metrics_json(result, names) << "\n";
  if (!out) throw UserError(to_text("cannot write '", out_, "'; check eval.out"), ATROUS_HERE);
  return 0;
}

}  // namespace atrous::cli
