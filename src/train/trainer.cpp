#include "atrous/train/trainer.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <optional>
#include <sstream>

#include "atrous/core/log.h"
#include "atrous/core/options.h"
#include "atrous/data/pack_reader.h"
#include "atrous/data/shard_sampler.h"
#include "atrous/distributed/error_agreement.h"
#include "atrous/distributed/make_communicator.h"
#include "atrous/distributed/sync_batch_norm_pass.h"
#include "atrous/distributed/world.h"
#include "atrous/model/batch_norm.h"
#include "atrous/model/conv2d.h"
#include "atrous/model/deeplab.h"
#include "atrous/train/preemption.h"
#include "atrous/train/run_directory.h"
#include "atrous/train/training_report.h"

namespace atrous::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void set_batch_norm_training(torch::nn::Module& root, bool training) {
  for (const auto& module : root.modules())
    if (dynamic_cast<model::BatchNorm2dImpl*>(module.get())) module->train(training);
}

std::vector<distributed::NamedTensor> named(const torch::OrderedDict<std::string, at::Tensor>& tensors) {
  std::vector<distributed::NamedTensor> list;
  for (const auto& item : tensors) list.push_back({item.key(), item.value()});
  return list;
}

}  // namespace

struct Trainer::State {
  TrainerOptions options;
  const distributed::World& world;
  Logger& log;
  std::string config;
  std::unique_ptr<data::PackReader> pack;
  std::unique_ptr<data::Loader> loader;
  std::shared_ptr<model::DeepLabImpl> net;
  std::unique_ptr<distributed::Communicator> comm;
  std::unique_ptr<distributed::GradReducer> reducer;
  std::unique_ptr<loss::SegmentationLoss> loss;
  std::unique_ptr<SgdMomentum> optimizer;
  std::unique_ptr<LrSchedule> schedule;
  std::unique_ptr<RunDirectory> run_dir;   // rank 0
  std::unique_ptr<TrainingReport> report;  // rank 0
  int64_t step = 0, epoch = 0, position = 0;
  std::optional<Checkpoint> resumed;

  State(const TrainerOptions& o, const distributed::World& w, Logger& l, std::string c)
      : options(o), world(w), log(l), config(std::move(c)) {}

  void open_data();
  void build_model();
  void connect();
  void resume_or_initialise();
  void adopt_checkpoint(const Checkpoint& checkpoint, const std::string& path);
  data::Batch next_batch();
  void save(const std::string& why);
};

void Trainer::State::open_data() {
  options.run.validate();
  options.loader.validate();
  options.augment.validate();
  pack = std::make_unique<data::PackReader>(options.run.train_pack);
  data::ShardSampler sampler(pack->size(), uint64_t(options.loader.seed), world.rank(), world.size(),
                             data::parse_shard_remainder(options.run.remainder, "data.remainder"));
  data::LoaderOptions loader_options = options.loader;
  loader_options.pin_memory = world.device().is_cuda();
  loader = std::make_unique<data::Loader>(*pack, sampler, loader_options, options.augment);
  if (loader->batches_per_epoch() < 1)
    throw UserError(to_text("the training pack '", options.run.train_pack, "' has ", pack->size(),
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
  resume_or_initialise();
  net->to(world.device());
  const double weight_decay = options.sgd.weight_decay >= 0                    ? options.sgd.weight_decay
                              : options.model.backbone.rfind("resnet", 0) == 0 ? 1e-4
                                                                               : 4e-5;
  optimizer = std::make_unique<SgdMomentum>(deeplab_parameters(*net, options.sgd), options.sgd, weight_decay);
  if (resumed) optimizer->load_velocity(resumed->velocity);
  const int64_t global_batch =
      int64_t(options.loader.batch_size) * world.size() * options.run.accumulate_steps;
  schedule = std::make_unique<LrSchedule>(options.lr, options.run.steps, global_batch);
  options.checkpoint.validate();
  options.loss.validate(pack_classes);  // the loss itself is built with its communicator in connect()
}

void Trainer::State::connect() {
  comm = distributed::make_communicator(world, options.comm);
  if (options.run.sync_bn && world.size() > 1) distributed::convert_to_sync_batch_norm(*net, comm.get());
  reducer = std::make_unique<distributed::GradReducer>(named(net->named_parameters()), named(net->named_buffers()),
                                                *comm, options.reducer);
  loss = std::make_unique<loss::SegmentationLoss>(options.loss, pack->metadata().num_classes,
                                                  pack->metadata().ignore_label, *comm);
}

void Trainer::State::resume_or_initialise() {
  const std::string& resume = options.run.resume;
  std::string path;
  if (resume == "auto")
    path = latest_checkpoint(options.run.run_dir);
  else if (resume != "none")
    path = resume;
  if (!path.empty()) {
    adopt_checkpoint(load_checkpoint(path), path);
    return;
  }
  if (!options.init.init_weights.empty()) {
    const model::ImportReport report = model::import_weights(
        *net, model::read_state_dict(options.init.init_weights), options.init.init_scope,
        net->logits_prefixes(), options.init.skip_logits, options.init.init_weights);
    log.info("initial weights from ", options.init.init_weights, ": ", report.summary());
  }
}

void Trainer::State::adopt_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  if (checkpoint.seed != options.loader.seed)
    throw UserError(
        to_text("checkpoint '", path, "' was trained with data.seed = ", checkpoint.seed, ", not ",
                options.loader.seed, "; resume with the same seed or start afresh (train.resume = none)"),
        ATROUS_HERE);
  model::import_weights(*net, checkpoint.model, "model", {}, false, path);
  step = checkpoint.step;
  epoch = checkpoint.epoch;
  position = checkpoint.position;
  if (checkpoint.world_size != world.size()) {
    const int64_t consumed = checkpoint.position * checkpoint.world_size;
    if (consumed % world.size() != 0)
      throw UserError(to_text("checkpoint '", path, "' was written by ", checkpoint.world_size, " ranks ",
                              checkpoint.position, " samples into epoch ", checkpoint.epoch,
                              "; those do not divide among ", world.size(), " ranks. Resume with ",
                              checkpoint.world_size, " ranks, or from a checkpoint at an epoch start"),
                      ATROUS_HERE);
    position = consumed / world.size();
    log.warn("resuming a run of ", checkpoint.world_size, " ranks on ", world.size(),
             " ranks: same samples, but batch norm and loss statistics now cover a different global batch");
  }
  resumed = checkpoint;
  log.info("resuming from ", path, " at step ", step, " (epoch ", epoch, ", ", position, " samples in)");
}

data::Batch Trainer::State::next_batch() {
  std::optional<data::Batch> batch = loader->next();
  if (!batch) {
    ++epoch;
    loader->start_epoch(uint64_t(epoch), 0);
    batch = loader->next();
    ATROUS_ASSERT(batch.has_value(), "an epoch without batches");
  }
  position = batch->position;
  return std::move(*batch);
}

void Trainer::State::save(const std::string& why) {
  if (!world.is_root()) return;
  Checkpoint checkpoint;
  checkpoint.step = step;
  checkpoint.epoch = epoch;
  checkpoint.position = position;
  checkpoint.world_size = world.size();
  checkpoint.seed = options.loader.seed;
  checkpoint.config = config;
  for (const auto& item : net->named_parameters()) checkpoint.model[item.key()] = item.value();
  for (const auto& item : net->named_buffers()) checkpoint.model[item.key()] = item.value();
  checkpoint.velocity = optimizer->velocity();
  const std::string file = save_checkpoint(run_dir->path(), checkpoint, options.checkpoint.keep);
  log.info("checkpoint ", file, " (", why, ")");
}

Trainer::Trainer(const TrainerOptions& options, const distributed::World& world, Logger& log,
                 std::string effective_config)
    : state_(std::make_unique<State>(options, world, log, std::move(effective_config))) {
  State& s = *state_;
  if (world.is_root()) s.run_dir = std::make_unique<RunDirectory>(options.run.run_dir);
  s.open_data();
  s.build_model();
}

void Trainer::connect() {
  State& s = *state_;
  s.connect();
  if (s.world.is_root()) {
    if (s.resumed) s.run_dir->truncate_metrics_after(s.step);
    s.run_dir->write_config(s.config);
    s.report = std::make_unique<TrainingReport>(*s.run_dir, s.log, s.options.run.steps);
  }
  install_preemption_handlers();
}

Trainer::~Trainer() = default;

std::shared_ptr<model::DeepLabImpl> Trainer::model() const {
  return state_->net;
}
distributed::Communicator& Trainer::communicator() const {
  return *state_->comm;
}

int Trainer::run() {
  State& s = *state_;
  const RunOptions& run = s.options.run;
  s.loader->start_epoch(uint64_t(s.epoch), s.position);
  s.net->train();
  if (run.freeze_bn) set_batch_norm_training(*s.net, false);
  const int64_t global_images = int64_t(s.options.loader.batch_size) * s.world.size() * run.accumulate_steps;
  auto last_checkpoint = Clock::now();
  StepTimes times;

  while (s.step < run.steps) {
    const auto step_start = Clock::now();
    const double waited_before = s.loader->seconds_waited();
    // Dropout's randomness, a function of (seed, step, rank) alone, so a resumed run repeats it.
    at::manual_seed(uint64_t(s.options.loader.seed) * 1000003u + uint64_t(s.step) * 4099u +
                    uint64_t(s.world.rank()));
    loss::LossResult result;
    std::vector<loss::LossEntry> entries;
    double total = 0;
    for (int micro = 0; micro < run.accumulate_steps; ++micro) {
      data::Batch batch = s.next_batch();
      s.reducer->set_synchronize(micro + 1 == run.accumulate_steps);
      const model::ScaleOutputs outputs =
          s.net->forward(batch.images.to(s.world.device(), /*non_blocking=*/true));
      result = (*s.loss)(outputs, batch.labels.to(s.world.device()).to(at::kLong), s.step);
      (result.backward / double(run.accumulate_steps)).backward();
      total += result.total / run.accumulate_steps;
      if (entries.empty()) entries.assign(result.entries.size(), {});
      for (size_t e = 0; e < entries.size(); ++e) {
        entries[e].name = result.entries[e].name;
        entries[e].value += result.entries[e].value / run.accumulate_steps;
      }
    }
    times.exposed_comm = s.reducer->finish_step();
    const StepAgreement agreed =
        agree_on_step(*s.comm, total, entries, s.loss->global_scope(), preemption_requested());
    if (!agreed.nonfinite_ranks.empty()) {
      // Every rank knows; one message from rank 0, a clean stop everywhere, the weights untouched.
      std::ostringstream ranks;
      for (size_t i = 0; i < agreed.nonfinite_ranks.size(); ++i)
        ranks << (i ? "," : "") << agreed.nonfinite_ranks[i];
      distributed::agree_on_errors(s.world.comm(),
                            std::make_exception_ptr(UserError(
                                to_text("the loss is not finite at step ", s.step + 1, " on rank(s) ",
                                        ranks.str(), " (", agreed.entries_text,
                                        "); no checkpoint was written from these weights. Lower optim.lr, "
                                        "check the data, or resume from the last checkpoint"),
                                ATROUS_HERE)));
    }
    const double lr = (*s.schedule)(s.step);
    s.optimizer->step(lr);
    s.optimizer->zero_grad();
    ++s.step;
    times.step = seconds_since(step_start);
    times.data_wait = s.loader->seconds_waited() - waited_before;

    if (s.report)
      s.report->step(StepRecord{s.step, s.epoch, agreed.total, agreed.entries, lr, global_images, times},
                     s.step % run.log_every == 0 || s.step == run.steps);
    const bool final_step = s.step == run.steps;
    const bool by_steps =
        s.options.checkpoint.every_steps > 0 && s.step % s.options.checkpoint.every_steps == 0;
    const bool by_time = s.options.checkpoint.every_minutes > 0 &&
                         seconds_since(last_checkpoint) >= 60 * s.options.checkpoint.every_minutes;
    const int every = run.eval_every;
    if (evaluation_ && every > 0 && (s.step % every == 0 || final_step)) {
      const std::string result = evaluation_(s.step);
      s.net->train();
      if (run.freeze_bn) set_batch_norm_training(*s.net, false);
      if (s.report) s.report->evaluation(s.step, result);
    }
    if (agreed.preempted) {
      s.save("preempted");
      s.log.warn("stopped by a preemption signal at step ", s.step, "; exit status ", preempted_exit_status,
                 ", resume with train.resume = auto");
      return preempted_exit_status;
    }
    if (final_step || by_steps || by_time) {
      s.save(final_step ? "final" : by_steps ? "every_steps" : "every_minutes");
      last_checkpoint = Clock::now();
    }
  }
  return 0;
}

}  // namespace atrous::train
