#pragma once
// The local half of a training run's assembly (train/trainer.h): what every rank builds on its own,
// before any collective, each part from the ones before it, complete when prepare_training()
// returns. The Trainer takes it whole and connects it.
//
// The order, and why: RUN_DIR on rank 0 first (its lock; a mistyped option was refused before it is
// made, so none is left behind); the resume decision, once (train.resume's file, or with auto the
// run's latest; none refuses a folder holding an earlier run); the training data (its class count
// sizes the model); the model, seeded, with model.init_weights unless it resumes; the optimizer over
// its parameters, the loss scaler and the LR schedule (which needs the loader's epoch); the owners
// of the checkpoint's sections registered (train/checkpoint_section.h), and on a resume the
// checkpoint read (only now: every option and the data were checked first) and each section
// restored by its owner, the checkpoint's tensors freed after; then what watches the run (timeline,
// stall folder, rank 0's TensorBoard file), whose paths are checked against the inputs and the
// resumed checkpoint.

#include <memory>
#include <string>

#include "atrous/train/checkpoint.h"
#include "atrous/train/data_position.h"
#include "atrous/train/loss_scaler.h"
#include "atrous/train/lr_schedule.h"
#include "atrous/train/model_section.h"
#include "atrous/train/optimizer.h"
#include "atrous/train/run_directory.h"
#include "atrous/train/run_identity.h"
#include "atrous/train/train_options.h"

namespace atrous {
class Logger;
namespace data {
class Loader;
class PackReader;
}  // namespace data
namespace distributed {
class World;
}
namespace model {
class DeepLabImpl;
}
namespace observe {
class EventFileWriter;
class Timeline;
}  // namespace observe
}  // namespace atrous

namespace atrous::train {

class PreparedTraining {
 public:
  ~PreparedTraining();

  TrainerOptions options;
  const distributed::World& world;
  Logger& log;
  std::unique_ptr<RunDirectory> run_dir;          // rank 0
  RunIdentity identity;                           // the step, the configuration
  DataPosition data_position;                     // where the run is in its data
  std::string resume_path;  // the checkpoint the run continued from; "" for a fresh start
  std::unique_ptr<data::PackReader> pack;
  std::unique_ptr<data::Loader> loader;
  std::shared_ptr<model::DeepLabImpl> net;  // on the run's device
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<LossScaler> scaler;
  std::unique_ptr<LrSchedule> schedule;
  std::unique_ptr<ModelSection> model_section;
  CheckpointSections sections;                       // every owner of the state a checkpoint keeps
  std::unique_ptr<observe::Timeline> timeline;       // train.timeline
  std::unique_ptr<observe::EventFileWriter> events;  // rank 0, train.tensorboard

  int64_t global_batch() const;
  // One epoch of the training pack: every rank's batches of it, in optimizer steps and in images.
  double steps_per_epoch() const;
  int64_t images_per_epoch() const;

 private:
  PreparedTraining(const TrainerOptions& options, const distributed::World& world, Logger& log,
                   std::string effective_config);
  friend std::unique_ptr<PreparedTraining> prepare_training(const TrainerOptions&, const distributed::World&,
                                                            Logger&, std::string);
  // The stages, in the order prepare_training() calls them.
  void decide_resume();
  void open_data();
  void build_model();
  void initialise_weights();
  void register_sections();
  void open_outputs();
};

// effective_config: the INI rank 0 stores in RUN_DIR/config.ini and in every checkpoint. Local: a
// UserError for what this rank finds wrong (the command agrees on it: cli/command.h).
std::unique_ptr<PreparedTraining> prepare_training(const TrainerOptions& options,
                                                   const distributed::World& world, Logger& log,
                                                   std::string effective_config);

}  // namespace atrous::train
