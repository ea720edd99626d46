#include "atrous/train/trainer.h"

#include <ATen/ATen.h>

#include <chrono>

#include "atrous/core/log.h"
#include "atrous/data/loader.h"
#include "atrous/data/pack_reader.h"
#include "atrous/distributed/error_agreement.h"
#include "atrous/distributed/grad_reducer.h"
#include "atrous/distributed/make_communicator.h"
#include "atrous/distributed/model_replication.h"
#include "atrous/distributed/stall_inspector.h"
#include "atrous/distributed/sync_batch_norm_pass.h"
#include "atrous/distributed/world.h"
#include "atrous/loss/segmentation_loss.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/memory_format.h"
#include "atrous/observe/event_file_writer.h"
#include "atrous/observe/timeline.h"
#include "atrous/train/preemption.h"
#include "atrous/train/prepared_training.h"
#include "atrous/train/target_miou.h"
#include "atrous/train/timeline_hook.h"
#include "atrous/train/training_report.h"
#include "atrous/train/training_step.h"

namespace atrous::train {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<distributed::NamedTensor> named(const torch::OrderedDict<std::string, at::Tensor>& tensors) {
  std::vector<distributed::NamedTensor> list;
  for (const auto& item : tensors) list.push_back({item.key(), item.value()});
  return list;
}

}  // namespace

// The connected half of the assembly (the prepared half: train/prepared_training.h), built in the
// constructor from the prepared parts, in the order of trainer.h.
struct Trainer::State {
  std::unique_ptr<PreparedTraining> prepared;
  PreparedTraining& p;
  std::shared_ptr<distributed::CollectiveWaits> waits = std::make_shared<distributed::CollectiveWaits>();
  std::unique_ptr<distributed::StallInspector> stall;  // dist.stall_warning_s > 0
  std::unique_ptr<distributed::Communicator> comm;
  std::unique_ptr<distributed::Communicator> batch_norm_comm;  // nullptr when batch norm is local
  std::unique_ptr<distributed::GradReducer> reducer;
  std::unique_ptr<loss::SegmentationLoss> loss;
  std::unique_ptr<TrainingStep> training_step;
  TrainingReport* report = nullptr;  // rank 0: the first of the hooks
  TargetMiou* target = nullptr;      // train.target_miou: one of the hooks
  std::vector<std::unique_ptr<TrainingHook>> hooks;

  explicit State(std::unique_ptr<PreparedTraining> prepared_training);
  void connect();
  void watch(distributed::Communicator& communicator, const std::string& name,
             distributed::CollectiveMembers members);
  distributed::CollectiveMembers batch_norm_members() const;
  void add_evaluation(EvaluationHook::Evaluation evaluation);
  std::string save(CheckpointReason reason);
};

Trainer::State::State(std::unique_ptr<PreparedTraining> prepared_training)
    : prepared(std::move(prepared_training)), p(*prepared) {
  connect();
}

Trainer::Trainer(std::unique_ptr<PreparedTraining> prepared, const EvaluationFactory& evaluation,
                 std::vector<std::unique_ptr<TrainingHook>> hooks)
    : state_(std::make_unique<State>(std::move(prepared))) {
  State& s = *state_;
  PreparedTraining& p = s.p;
  if (p.world.is_root()) {
    const int64_t step = p.identity.step();
    p.run_dir->truncate_metrics_after(step);  // also step 0: a run that died before its first checkpoint
    if (step < p.options.run.steps)
      p.run_dir->write_config(p.identity.config(), step);  // else it trains nothing
    auto report = std::make_unique<TrainingReport>(*p.run_dir, p.log, p.options.run.steps,
                                                   p.options.run.log_every, p.events.get());
    s.report = report.get();
    s.hooks.push_back(std::move(report));
  }
  if (p.timeline)
    s.hooks.push_back(std::make_unique<TimelineHook>(*p.timeline, *s.comm, p.options.run.timeline, p.log));
  if (p.options.run.evaluates()) {
    ATROUS_ASSERT(evaluation, "train.eval_every needs the command's evaluation");
    s.add_evaluation(evaluation(p.net, *s.comm));
  }
  for (auto& hook : hooks) s.hooks.push_back(std::move(hook));
  install_preemption_handlers();
}

Trainer::~Trainer() = default;

// The stall inspector and the timeline watch every wait for the communicator's collectives.
void Trainer::State::watch(distributed::Communicator& communicator, const std::string& name,
                           distributed::CollectiveMembers members) {
  communicator.account_waits_in(waits);
  if (stall) communicator.add_observer(stall->observer(name, std::move(members)));
  if (p.timeline) communicator.add_observer(p.timeline->observer(name));
}

// The world ranks of this rank's batch-norm group (distributed/sync_batch_norm_group.h).
distributed::CollectiveMembers Trainer::State::batch_norm_members() const {
  const distributed::SyncBatchNormGroup group = p.options.sync_bn.parsed_group();
  distributed::CollectiveMembers members;
  int first = 0, count = p.world.size();
  if (group.kind == distributed::SyncBatchNormGroup::Kind::ranks) {
    first = p.world.rank() / group.ranks * group.ranks;
    count = group.ranks;
  }
  for (int rank = first; rank < first + count; ++rank) members.ranks.push_back(rank);
  members.same_host_only = group.kind == distributed::SyncBatchNormGroup::Kind::node;
  return members;
}

void Trainer::State::connect() {
  if (p.options.comm.stall_warning_s > 0) {
    distributed::StallSettings settings;
    settings.directory = p.options.run.run_dir + "/stall";
    settings.stall_warning_s = p.options.comm.stall_warning_s;
    settings.timeout_s = p.world.timeout_s();
    settings.publish_after_s = std::min(0.5, settings.stall_warning_s / 4);
    settings.heartbeat_s = std::min(5.0, settings.stall_warning_s);
    settings.silent_after_s = 3 * settings.heartbeat_s;
    settings.tick_s = std::min(0.1, settings.publish_after_s / 2);
    stall = std::make_unique<distributed::StallInspector>(settings, p.world.rank(), p.world.size(),
                                                          p.world.host(), p.log);
  }
  comm = distributed::make_communicator(p.world, p.options.comm);
  distributed::CollectiveMembers everyone;
  for (int rank = 0; rank < p.world.size(); ++rank) everyone.ranks.push_back(rank);
  watch(*comm, "world", everyone);
  batch_norm_comm = distributed::make_batch_norm_communicator(p.world, p.options.sync_bn, p.options.comm);
  if (batch_norm_comm) {
    watch(*batch_norm_comm, "batch_norm", batch_norm_members());
    distributed::convert_to_sync_batch_norm(*p.net, batch_norm_comm.get());
  }
  const std::vector<distributed::NamedTensor> parameters = named(p.net->named_parameters());
  distributed::replicate_from_root(parameters, named(p.net->named_buffers()), *comm);
  model::use_memory_format(*p.net,
                           model::resolve_memory_format(p.options.model.memory_format, p.world.device()));
  reducer = std::make_unique<distributed::GradReducer>(parameters, *comm, p.options.reducer);
  loss = std::make_unique<loss::SegmentationLoss>(p.options.loss, p.pack->metadata().num_classes,
                                                  p.pack->metadata().ignore_label, *comm);
  training_step = std::make_unique<TrainingStep>(
      TrainingParts{p.world, *p.loader, *p.net, *loss, *reducer, *comm, *waits, *p.optimizer, *p.schedule,
                    *p.scaler, p.timeline.get()},
      StepSettings{p.options.loader.batch_size, p.options.run.accumulate_steps, p.options.loader.seed,
                   p.options.run.precision, p.options.optim.max_grad_norm, p.options.augment.crop_size,
                   p.pack->metadata().ignore_label});
}

// The evaluation hooks of train.eval_every (or _epochs): train.target_miou's, then the evaluation,
// timed in the timeline as "evaluation".
void Trainer::State::add_evaluation(EvaluationHook::Evaluation evaluation) {
  if (observe::Timeline* watching = p.timeline.get())
    evaluation = [watching, evaluation = std::move(evaluation)](int64_t step) {
      const observe::TimelineSpan span(watching, "evaluation");
      return evaluation(step);
    };
  if (p.options.run.target_miou > 0) {
    auto hook =
        std::make_unique<TargetMiou>(p.options.run.target_miou, p.images_per_epoch(), p.run_dir.get(), p.log);
    target = hook.get();
    hooks.push_back(std::move(hook));
  }
  hooks.push_back(std::make_unique<EvaluationHook>(p.options.run.evaluation_period(p.steps_per_epoch()),
                                                   p.options.run.steps, std::move(evaluation), *p.net,
                                                   p.options.model.freeze_bn, report, target));
}

std::string Trainer::State::save(CheckpointReason reason) {
  if (!p.world.is_root()) return std::string();
  p.data_position.advance_to(training_step->epoch(), training_step->position());
  const std::string file =
      save_checkpoint(p.run_dir->path(), p.identity.step(), p.sections.collect(), p.options.checkpoint.keep);
  p.log.info("checkpoint ", file, " (", checkpoint_reason_name(reason), ")");
  return file;
}

int Trainer::run() {
  State& s = *state_;
  PreparedTraining& p = s.p;
  int64_t step = p.identity.step(), total_steps = p.options.run.steps;
  if (step >= total_steps)  // it trained nothing and exited 0 without a word
    p.log.warn("nothing to do: the run is at step ", step, ", ", step == total_steps ? "the end of" : "past",
               " its train.steps = ", total_steps,
               "; raise train.steps to train on (config.ini is left as the last segment ran)");
  s.training_step->start(p.data_position.epoch(), p.data_position.position());
  set_training_mode(*p.net, p.options.model.freeze_bn);
  for (auto& hook : s.hooks) hook->on_start(RunStart{step, total_steps});
  auto last_checkpoint = Clock::now();
  bool preempted = false;
  while (step < total_steps && !preempted) {
    const double since_last = std::chrono::duration<double>(Clock::now() - last_checkpoint).count();
    const bool time_due = p.world.is_root() && checkpoint_time_due(p.options.checkpoint, since_last);
    if (s.stall) s.stall->set_step(step + 1);
    const StepOutcome outcome = s.training_step->run(step, time_due);
    if (!outcome.agreement.failed_ranks.empty())  // each failed rank's own error, a clean stop everywhere
      distributed::agree_on_errors(p.world.comm(), outcome.error);
    if (!outcome.applied && !outcome.skipped)  // every rank knows; one message from rank 0, a clean stop
      distributed::agree_on_errors(
          p.world.comm(), std::make_exception_ptr(nonfinite_loss_error(outcome.agreement, outcome.step)));
    step = outcome.step;
    p.identity.set_step(step);
    for (auto& hook : s.hooks) hook->on_step_end(outcome);
    preempted = outcome.agreement.preempted;
    bool stop = false;  // a hook's request (train.target_miou reached): the same on every rank
    for (const auto& hook : s.hooks) stop = stop || hook->stop_requested();
    CheckpointReason reason =
        checkpoint_due(p.options.checkpoint, step, total_steps, outcome.agreement.checkpoint_time, preempted);
    if (stop && reason == CheckpointReason::none) reason = CheckpointReason::final;
    if (stop) total_steps = step;  // the loop ends after this checkpoint
    if (reason == CheckpointReason::none) continue;
    std::string path;
    {
      const observe::TimelineSpan span(p.timeline.get(), "checkpoint");
      path = s.save(reason);
    }
    last_checkpoint = Clock::now();
    for (auto& hook : s.hooks) hook->on_checkpoint(CheckpointWritten{step, reason, path});
  }
  if (preempted)
    p.log.warn("stopped by a preemption signal (", preemption_signal_name(), ") at step ", step,
               "; exit status ", preempted_exit_status, ", resume with train.resume = auto");
  for (auto& hook : s.hooks) hook->on_finish(RunEnd{step, preempted});
  return preempted ? preempted_exit_status : 0;
}

}  // namespace atrous::train
