#include "atrous/train/trainer.h"

#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/core/output_paths.h"
#include "atrous/data/loader.h"
#include "atrous/data/pack_reader.h"
#include "atrous/data/shard_sampler.h"
#include "atrous/distributed/error_agreement.h"
#include "atrous/distributed/grad_reducer.h"
#include "atrous/distributed/make_communicator.h"
#include "atrous/distributed/model_replication.h"
#include "atrous/distributed/stall_inspector.h"
#include "atrous/distributed/sync_batch_norm_pass.h"
#include "atrous/distributed/world.h"
#include "atrous/model/backbone_registry.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/precision.h"
#include "atrous/observe/event_file_writer.h"
#include "atrous/observe/timeline.h"
#include "atrous/train/data_position.h"
#include "atrous/train/model_section.h"
#include "atrous/train/optimizer_registry.h"
#include "atrous/train/preemption.h"
#include "atrous/train/run_directory.h"
#include "atrous/train/run_identity.h"
#include "atrous/train/target_miou.h"
#include "atrous/train/timeline_hook.h"
#include "atrous/train/training_report.h"

namespace atrous::train {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<distributed::NamedTensor> named(const torch::OrderedDict<std::string, at::Tensor>& tensors) {
  std::vector<distributed::NamedTensor> list;
  for (const auto& item : tensors) list.push_back({item.key(), item.value()});
  return list;
}

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

struct Trainer::State {
  TrainerOptions options;
  const distributed::World& world;
  Logger& log;
  RunIdentity run;                                // the step, the configuration
  DataPosition data_position;                     // where the run is in its data
  std::optional<CheckpointContents> resume_from;  // the checkpoint this run continues, decided once
  std::unique_ptr<data::PackReader> pack;
  std::unique_ptr<data::Loader> loader;
  std::shared_ptr<model::DeepLabImpl> net;
  std::shared_ptr<distributed::CollectiveWaits> waits = std::make_shared<distributed::CollectiveWaits>();
  std::unique_ptr<distributed::StallInspector> stall;  // dist.stall_warning_s > 0
  std::unique_ptr<observe::Timeline> timeline;         // train.timeline
  std::unique_ptr<distributed::Communicator> comm;
  std::unique_ptr<distributed::Communicator> batch_norm_comm;  // nullptr when batch norm is local
  std::unique_ptr<distributed::GradReducer> reducer;
  std::unique_ptr<loss::SegmentationLoss> loss;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<LrSchedule> schedule;
  std::unique_ptr<LossScaler> scaler;
  std::unique_ptr<TrainingStep> training_step;
  std::unique_ptr<RunDirectory> run_dir;             // rank 0
  std::unique_ptr<observe::EventFileWriter> events;  // rank 0, train.tensorboard
  TrainingReport* report = nullptr;                  // rank 0: the first of the hooks
  TargetMiou* target = nullptr;                      // train.target_miou: one of the hooks
  std::vector<std::unique_ptr<TrainingHook>> hooks;
  std::unique_ptr<ModelSection> model_section;
  CheckpointSections sections;  // every owner of the state a checkpoint keeps

  State(const TrainerOptions& o, const distributed::World& w, Logger& l, std::string c)
      : options(o), world(w), log(l), run(std::move(c), l), data_position(o.loader.seed, w.size(), l) {}

  void decide_resume();
  void open_data();
  void build_model();
  void initialise_weights();
  void register_sections();
  void open_outputs();
  void connect();
  void watch(distributed::Communicator& communicator, const std::string& name,
             distributed::CollectiveMembers members);
  distributed::CollectiveMembers batch_norm_members() const;
  std::string save(CheckpointReason reason);
  int64_t global_batch() const {
    return int64_t(options.loader.batch_size) * world.size() * options.run.accumulate_steps;
  }
  // One epoch of the training pack: every rank's batches of it, in optimizer steps and in images.
  double steps_per_epoch() const {
    return double(loader->batches_per_epoch()) / double(options.run.accumulate_steps);
  }
  int64_t images_per_epoch() const {
    return loader->batches_per_epoch() * int64_t(options.loader.batch_size) * world.size();
  }
};

void Trainer::State::open_data() {
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

void Trainer::State::build_model() {
  const int64_t pack_classes = pack->metadata().num_classes;
  ATROUS_CHECK_OPTION(options.model.num_classes == 0 || options.model.num_classes == pack_classes,
                      "model.num_classes", options.model.num_classes,
                      to_text("0 or the training pack's ", pack_classes));
  at::manual_seed(uint64_t(options.loader.seed));  // the initial weights; rank 0's are broadcast
  net = std::make_shared<model::DeepLabImpl>(options.model, pack_classes);
  if (!resume_from) initialise_weights();
  net->to(world.device());
  if (world.device().is_cuda()) model::set_gpu_math(options.run.tf32, options.run.cudnn_benchmark);
  const double weight_decay = options.optim.weight_decay >= 0
                                  ? options.optim.weight_decay
                                  : model::find_backbone(options.model.backbone).default_weight_decay;
  optimizer = make_optimizer(deeplab_parameters(*net, options.optim), options.optim, weight_decay);
  log.info("optimizer ", optimizer->name(), " (weight decay ", weight_decay,
           "): state ", optimizer_state_text(*optimizer));
  scaler = std::make_unique<LossScaler>(options.run.precision == model::Precision::fp16);
  schedule = std::make_unique<LrSchedule>(options.lr, options.run.steps, global_batch(), steps_per_epoch());
  options.checkpoint.validate();
  options.loss.validate(pack_classes);  // the loss itself is built with its communicator in connect()
  register_sections();
  if (resume_from) {
    sections.restore(*resume_from);
    log.info("resuming from ", resume_from->file(), " at step ", run.step(), " (epoch ",
             data_position.epoch(), ", ", data_position.position(), " samples in)");
  }
}

// The owners of what a checkpoint keeps, in the order they restore (train/checkpoint.h): the data
// position first (another seed or world size is refused before anything else is compared).
void Trainer::State::register_sections() {
  model_section = std::make_unique<ModelSection>(*net);
  sections.add("data", data_position);
  sections.add("run", run);
  sections.add("model", *model_section);
  sections.add("optimizer", *optimizer);
  sections.add("loss_scaler", *scaler);
}

// The stall inspector and the timeline watch every wait for the communicator's collectives.
void Trainer::State::watch(distributed::Communicator& communicator, const std::string& name,
                           distributed::CollectiveMembers members) {
  communicator.account_waits_in(waits);
  if (stall) communicator.add_observer(stall->observer(name, std::move(members)));
  if (timeline) communicator.add_observer(timeline->observer(name));
}

// The world ranks of this rank's batch-norm group (distributed/sync_batch_norm_group.h).
distributed::CollectiveMembers Trainer::State::batch_norm_members() const {
  const distributed::SyncBatchNormGroup group = options.sync_bn.parsed_group();
  distributed::CollectiveMembers members;
  int first = 0, count = world.size();
  if (group.kind == distributed::SyncBatchNormGroup::Kind::ranks) {
    first = world.rank() / group.ranks * group.ranks;
    count = group.ranks;
  }
  for (int rank = first; rank < first + count; ++rank) members.ranks.push_back(rank);
  members.same_host_only = group.kind == distributed::SyncBatchNormGroup::Kind::node;
  return members;
}

// What watches the run, opened while setting up so that a path that cannot be written is one agreed
// error: the timeline's part (every rank), the stall directory (every rank), rank 0's TensorBoard
// file (a new one per process, starting with the restart marker: readers drop what it replaces).
void Trainer::State::open_outputs() {
  const std::string resume_file = resume_from ? resume_from->file() : std::string();
  refuse_overwriting_inputs({"train.timeline", options.run.timeline},
                            {{"data.train", options.data.train_pack},
                             {"data.val", options.data.val_pack},
                             {"model.init_weights", options.init.init_weights},
                             {"train.resume", resume_file}});
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
    events->add_session_start(run.step() + 1);
    events->flush();
  }
}

void Trainer::State::connect() {
  if (options.comm.stall_warning_s > 0) {
    distributed::StallSettings settings;
    settings.directory = options.run.run_dir + "/stall";
    settings.stall_warning_s = options.comm.stall_warning_s;
    settings.timeout_s = world.timeout_s();
    settings.publish_after_s = std::min(0.5, settings.stall_warning_s / 4);
    settings.heartbeat_s = std::min(5.0, settings.stall_warning_s);
    settings.silent_after_s = 3 * settings.heartbeat_s;
    settings.tick_s = std::min(0.1, settings.publish_after_s / 2);
    stall = std::make_unique<distributed::StallInspector>(settings, world.rank(), world.size(), world.host(),
                                                          log);
  }
  comm = distributed::make_communicator(world, options.comm);
  distributed::CollectiveMembers everyone;
  for (int rank = 0; rank < world.size(); ++rank) everyone.ranks.push_back(rank);
  watch(*comm, "world", everyone);
  batch_norm_comm = distributed::make_batch_norm_communicator(world, options.sync_bn, options.comm);
  if (batch_norm_comm) {
    watch(*batch_norm_comm, "batch_norm", batch_norm_members());
    distributed::convert_to_sync_batch_norm(*net, batch_norm_comm.get());
  }
  const std::vector<distributed::NamedTensor> parameters = named(net->named_parameters());
  distributed::replicate_from_root(parameters, named(net->named_buffers()), *comm);
  model::use_memory_format(*net, model::resolve_memory_format(options.model.memory_format, world.device()));
  reducer = std::make_unique<distributed::GradReducer>(parameters, *comm, options.reducer);
  loss = std::make_unique<loss::SegmentationLoss>(options.loss, pack->metadata().num_classes,
                                                  pack->metadata().ignore_label, *comm);
  training_step = std::make_unique<TrainingStep>(
      TrainingParts{world, *loader, *net, *loss, *reducer, *comm, *waits, *optimizer, *schedule, *scaler,
                    timeline.get()},
      StepSettings{options.loader.batch_size, options.run.accumulate_steps, options.loader.seed,
                   options.run.precision, options.optim.max_grad_norm, options.augment.crop_size,
                   pack->metadata().ignore_label});
}

// The checkpoint this run continues from, decided once: train.resume's file, or with auto RUN_DIR's
// latest (a warning when `latest` itself was broken); none when there is none or train.resume none
// (refused on rank 0 where the folder holds an earlier run).
void Trainer::State::decide_resume() {
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
  if (!path.empty()) resume_from = load_checkpoint(path);
}

// A fresh start's weights: the seeded initialisation, or model.init_weights imported over it.
void Trainer::State::initialise_weights() {
  if (options.init.init_weights.empty()) return;
  const model::ImportReport report =
      model::import_weights(*net, model::read_state_dict(options.init.init_weights), options.init.init_scope,
                            net->logits_prefixes(), options.init.skip_logits, options.init.init_weights);
  log.info("initial weights from ", options.init.init_weights, ": ", report.summary());
}

std::string Trainer::State::save(CheckpointReason reason) {
  if (!world.is_root()) return std::string();
  data_position.advance_to(training_step->epoch(), training_step->position());
  const std::string file =
      save_checkpoint(run_dir->path(), run.step(), sections.collect(), options.checkpoint.keep);
  log.info("checkpoint ", file, " (", checkpoint_reason_name(reason), ")");
  return file;
}

Trainer::Trainer(const TrainerOptions& options, const distributed::World& world, Logger& log,
                 std::string effective_config)
    : state_(std::make_unique<State>(options, world, log, std::move(effective_config))) {
  State& s = *state_;
  options.run.validate();  // before RUN_DIR is made: a mistyped option leaves no folder behind
  if (world.is_root()) {
    s.run_dir = std::make_unique<RunDirectory>(options.run.run_dir);
  }
  s.decide_resume();
  s.open_data();
  s.build_model();
  s.open_outputs();
}

void Trainer::connect() {
  State& s = *state_;
  s.connect();
  if (s.world.is_root()) {
    const int64_t step = s.run.step();
    s.run_dir->truncate_metrics_after(step);  // also step 0: a run that died before its first checkpoint
    if (step < s.options.run.steps) s.run_dir->write_config(s.run.config(), step);  // else it trains nothing
    auto report = std::make_unique<TrainingReport>(*s.run_dir, s.log, s.options.run.steps,
                                                   s.options.run.log_every, s.events.get());
    s.report = report.get();
    s.hooks.push_back(std::move(report));
  }
  if (s.timeline)
    s.hooks.push_back(std::make_unique<TimelineHook>(*s.timeline, *s.comm, s.options.run.timeline, s.log));
  install_preemption_handlers();
}

Trainer::~Trainer() = default;

void Trainer::add_hook(std::unique_ptr<TrainingHook> hook) {
  ATROUS_ASSERT(state_->training_step, "add hooks after connect()");
  state_->hooks.push_back(std::move(hook));
}

void Trainer::set_evaluation(EvaluationHook::Evaluation evaluation) {
  const TrainerOptions& options = state_->options;
  if (!options.run.evaluates()) return;
  if (observe::Timeline* timeline = state_->timeline.get())
    evaluation = [timeline, evaluation = std::move(evaluation)](int64_t step) {
      const observe::TimelineSpan span(timeline, "evaluation");
      return evaluation(step);
    };
  if (options.run.target_miou > 0) {
    auto target = std::make_unique<TargetMiou>(options.run.target_miou, state_->images_per_epoch(),
                                               state_->run_dir.get(), state_->log);
    state_->target = target.get();
    add_hook(std::move(target));
  }
  add_hook(std::make_unique<EvaluationHook>(options.run.evaluation_period(state_->steps_per_epoch()),
                                            options.run.steps, std::move(evaluation), *state_->net,
                                            options.model.freeze_bn, state_->report, state_->target));
}

std::shared_ptr<model::DeepLabImpl> Trainer::model() const {
  return state_->net;
}
distributed::Communicator& Trainer::communicator() const {
  return *state_->comm;
}

int Trainer::run() {
  State& s = *state_;
  int64_t step = s.run.step(), total_steps = s.options.run.steps;
  if (step >= total_steps)  // it trained nothing and exited 0 without a word
    s.log.warn("nothing to do: the run is at step ", step, ", ", step == total_steps ? "the end of" : "past",
               " its train.steps = ", total_steps,
               "; raise train.steps to train on (config.ini is left as the last segment ran)");
  s.training_step->start(s.data_position.epoch(), s.data_position.position());
  set_training_mode(*s.net, s.options.model.freeze_bn);
  for (auto& hook : s.hooks) hook->on_start(RunStart{step, total_steps});
  auto last_checkpoint = Clock::now();
  bool preempted = false;
  while (step < total_steps && !preempted) {
    const double since_last = std::chrono::duration<double>(Clock::now() - last_checkpoint).count();
    const bool time_due = s.world.is_root() && checkpoint_time_due(s.options.checkpoint, since_last);
    if (s.stall) s.stall->set_step(step + 1);
    const StepOutcome outcome = s.training_step->run(step, time_due);
    if (!outcome.agreement.failed_ranks.empty())  // each failed rank's own error, a clean stop everywhere
      distributed::agree_on_errors(s.world.comm(), outcome.error);
    if (!outcome.applied && !outcome.skipped)  // every rank knows; one message from rank 0, a clean stop
      distributed::agree_on_errors(
          s.world.comm(), std::make_exception_ptr(nonfinite_loss_error(outcome.agreement, outcome.step)));
    step = outcome.step;
    s.run.set_step(step);
    for (auto& hook : s.hooks) hook->on_step_end(outcome);
    preempted = outcome.agreement.preempted;
    bool stop = false;  // a hook's request (train.target_miou reached): the same on every rank
    for (const auto& hook : s.hooks) stop = stop || hook->stop_requested();
    CheckpointReason reason =
        checkpoint_due(s.options.checkpoint, step, total_steps, outcome.agreement.checkpoint_time, preempted);
    if (stop && reason == CheckpointReason::none) reason = CheckpointReason::final;
    if (stop) total_steps = step;  // the loop ends after this checkpoint
    if (reason == CheckpointReason::none) continue;
    std::string path;
    {
      const observe::TimelineSpan span(s.timeline.get(), "checkpoint");
      path = s.save(reason);
    }
    last_checkpoint = Clock::now();
    for (auto& hook : s.hooks) hook->on_checkpoint(CheckpointWritten{step, reason, path});
  }
  if (preempted)
    s.log.warn("stopped by a preemption signal (", preemption_signal_name(), ") at step ", step,
               "; exit status ", preempted_exit_status, ", resume with train.resume = auto");
  for (auto& hook : s.hooks) hook->on_finish(RunEnd{step, preempted});
  return preempted ? preempted_exit_status : 0;
}

}  // namespace atrous::train
