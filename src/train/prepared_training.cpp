#include "atrous/train/prepared_training.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/core/output_paths.h"
#include "atrous/data/loader.h"
#include "atrous/data/pack_reader.h"
#include "atrous/data/shard_sampler.h"
#include "atrous/distributed/world.h"
#include "atrous/model/backbone_registry.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/precision.h"
#include "atrous/observe/event_file_writer.h"
#include "atrous/observe/timeline.h"
#include "atrous/train/optimizer_registry.h"

namespace atrous::train {
namespace {

// train.resume none in a folder that holds checkpoints would overwrite the earlier run's checkpoint
// of each step it reaches, prune its older ones and drop its metrics.jsonl lines: refused, so that
// starting afresh never loses a run.
void refuse_to_start_over(const std::string& run_dir) {
  const LatestCheckpoint earlier = latest_checkpoint(run_dir);
  if (earlier.path.empty()) return;
  throw UserError(to_text("train.resume none starts a new run, but train.run_dir '", run_dir,
                          "' holds an earlier run (its checkpoint ", earlier.path,
                          "), whose checkpoints and metrics a new run there would overwrite; resume it "
                          "(train.resume auto), give a new train.run_dir, or move that run's files away"),
                  ATROUS_HERE);
}

}  // namespace

PreparedTraining::PreparedTraining(const TrainerOptions& o, const distributed::World& w, Logger& l,
                                   std::string c)
    : options(o), world(w), log(l), identity(std::move(c), l), data_position(o.loader.seed, w.size(), l) {}

PreparedTraining::~PreparedTraining() = default;

int64_t PreparedTraining::global_batch() const {
  return int64_t(options.loader.batch_size) * world.size() * options.run.accumulate_steps;
}
double PreparedTraining::steps_per_epoch() const {
  return double(loader->batches_per_epoch()) / double(options.run.accumulate_steps);
}
int64_t PreparedTraining::images_per_epoch() const {
  return loader->batches_per_epoch() * int64_t(options.loader.batch_size) * world.size();
}

// The checkpoint this run continues from, decided once: train.resume's file, or with auto RUN_DIR's
// latest (a warning when `latest` itself was broken); none when there is none or train.resume none
// (refused on rank 0 where the folder holds an earlier run).
void PreparedTraining::decide_resume() {
  const std::string& resume = options.run.resume;
  if (resume == "none") {
    if (world.is_root()) refuse_to_start_over(options.run.run_dir);
    return;
  }
  std::string path = resume;
  if (resume == "auto") {
    const LatestCheckpoint latest = latest_checkpoint(options.run.run_dir);
    if (!latest.note.empty()) log.warn(latest.note, "; resuming from it");
    path = latest.path;
  }
  resume_path = path;
}

// A fresh start's weights: the seeded initialisation, or model.init_weights imported over it.
void PreparedTraining::initialise_weights() {
  if (options.init.init_weights.empty()) return;
  const model::ImportReport report =
      model::import_weights(*net, model::read_state_dict(options.init.init_weights), options.init.init_scope,
                            net->logits_prefixes(), options.init.skip_logits, options.init.init_weights);
  log.info("initial weights from ", options.init.init_weights, ": ", report.summary());
}

void PreparedTraining::open_data() {
  options.data.validate(options.run.evaluates());
  model::check_precision_supported(options.run.precision, world.device(), "train.precision");
  options.loader.validate();
  options.augment.validate();
  options.sync_bn.validate(world.size());
  pack = std::make_unique<data::PackReader>(options.data.train_pack);
  data::ShardSampler sampler(pack->size(), uint64_t(options.loader.seed), world.rank(), world.size(),
                             options.data.remainder);
  data::LoaderOptions loader_options = options.loader;
  loader_options.pin_memory = world.device().is_cuda();
  loader = std::make_unique<data::Loader>(*pack, sampler, loader_options, options.augment);
  const data::PackMetadata& stored = pack->metadata();
  log.info("training crops of ", options.augment.crop_size, " x ", options.augment.crop_size,
           " (data.crop_size) from samples of ", stored.height, " x ", stored.width);
  if (const std::string warning = data::oversized_crop_warning(options.augment, stored.height, stored.width);
      !warning.empty())
    log.warn(warning);
  if (loader->batches_per_epoch() < 1)
    throw UserError(to_text("the training pack '", options.data.train_pack, "' has ", pack->size(),
                            " samples, fewer than one batch per rank (", options.loader.batch_size, " x ",
                            world.size(), " ranks); lower data.batch_size or pack more samples"),
                    ATROUS_HERE);
}

void PreparedTraining::build_model() {
  const int64_t pack_classes = pack->metadata().num_classes;
  ATROUS_CHECK_OPTION(options.model.num_classes == 0 || options.model.num_classes == pack_classes,
                      "model.num_classes", options.model.num_classes,
                      to_text("0 or the training pack's ", pack_classes));
  at::manual_seed(uint64_t(options.loader.seed));  // the initial weights; rank 0's are broadcast
  net = std::make_shared<model::DeepLabImpl>(options.model, pack_classes);
  if (resume_path.empty()) initialise_weights();
  net->to(world.device());
  if (world.device().is_cuda()) model::set_gpu_math(options.run.tf32, options.run.cudnn_benchmark);
  const double weight_decay = options.optim.weight_decay >= 0
                                  ? options.optim.weight_decay
                                  : model::find_backbone(options.model.backbone).default_weight_decay;
  optimizer = make_optimizer(deeplab_parameters(*net, options.optim), options.optim, weight_decay);
  log.info("optimizer ", optimizer->name(), " (weight decay ", weight_decay, "): state ",
           optimizer_state_text(*optimizer));
  scaler = std::make_unique<LossScaler>(options.run.precision == model::Precision::fp16);
  schedule = std::make_unique<LrSchedule>(options.lr, options.run.steps, global_batch(), steps_per_epoch());
  options.checkpoint.validate();
  options.loss.validate(pack_classes);  // the loss itself is built with its communicator, by the Trainer
  register_sections();
  if (!resume_path.empty()) {  // read after the options and the data were checked: a bad one costs no read
    sections.restore(load_checkpoint(resume_path));
    log.info("resuming from ", resume_path, " at step ", identity.step(), " (epoch ", data_position.epoch(),
             ", ", data_position.position(), " samples in)");
  }
}

// The owners of what a checkpoint keeps, in the order they restore (train/checkpoint.h): the data
// position first (another seed or world size is refused before anything else is compared).
void PreparedTraining::register_sections() {
  model_section = std::make_unique<ModelSection>(*net);
  sections.add("data", data_position);
  sections.add("run", identity);
  sections.add("model", *model_section);
  sections.add("optimizer", *optimizer);
  sections.add("loss_scaler", *scaler);
}

// What watches the run, opened while setting up so that a path that cannot be written is one agreed
// error: the timeline's part (every rank), the stall directory (every rank), rank 0's TensorBoard
// file (a new one per process, starting with the restart marker: readers drop what it replaces).
void PreparedTraining::open_outputs() {
  refuse_overwriting_inputs({"train.timeline", options.run.timeline},
                            {{"data.train", options.data.train_pack},
                             {"data.val", options.data.val_pack},
                             {"model.init_weights", options.init.init_weights},
                             {"train.resume", resume_path}});
  if (!options.run.timeline.empty())
    timeline = std::make_unique<observe::Timeline>(
        options.run.timeline, world.rank(), world.host(),
        observe::StepRange::parse(options.run.timeline_steps, "train.timeline_steps"));
  if (options.comm.stall_warning_s > 0) {
    std::error_code error;
    std::filesystem::create_directories(options.run.run_dir + "/stall", error);
    if (error)
      throw UserError(to_text("cannot create '", options.run.run_dir, "/stall' for the stall inspector: ",
                              error.message(), "; check that train.run_dir is writable"),
                      ATROUS_HERE);
  }
  if (world.is_root() && options.run.tensorboard) {
    events = std::make_unique<observe::EventFileWriter>(run_dir->path() + "/tensorboard", world.host());
    events->add_session_start(identity.step() + 1);
    events->flush();
  }
}

std::unique_ptr<PreparedTraining> prepare_training(const TrainerOptions& options,
                                                   const distributed::World& world, Logger& log,
                                                   std::string effective_config) {
  std::unique_ptr<PreparedTraining> prepared(
      new PreparedTraining(options, world, log, std::move(effective_config)));
  PreparedTraining& s = *prepared;
  options.run.validate();  // before RUN_DIR is made: a mistyped option leaves no folder behind
  if (world.is_root()) s.run_dir = std::make_unique<RunDirectory>(options.run.run_dir);
  s.decide_resume();
  s.open_data();
  s.build_model();
  s.open_outputs();
  return prepared;
}

}  // namespace atrous::train
