#pragma once
// Trainer: `atrous train` on every rank, assembled in one ordered pass, then TrainingStep
// (train/training_step.h) repeated, each step's outcome handed to the hooks (train/training_hook.h).
// Each stage is built from what the stages before it produced and handed on complete; the two types
// below are the two halves of the pass, so nothing can be used before it exists.
//
// prepare_training() (local: no collective, so that the command's collective_setup can agree on its
// errors): rank 0 takes RUN_DIR (train/run_directory.h: a lock against a second job); every rank
// validates its options, decides once which checkpoint the run continues from (train.resume's file,
// with auto RUN_DIR's latest), opens the training pack and its loader, builds the model (its weights
// from model.init_weights unless it resumes), the optimizer, the loss scaler and the LR schedule,
// registers the owners of the checkpoint's sections (train/checkpoint_section.h) and, on a resume,
// reads the checkpoint and has each restore its own section, and opens what watches the run: its part of
// train.timeline (observe/timeline.h), RUN_DIR/stall, and on rank 0 the TensorBoard file
// (train.tensorboard).
// Trainer's constructor (collective, on every rank): the stall inspector
// (distributed/stall_inspector.h, dist.stall_warning_s), the communicator, synchronised batch norms
// (dist.sync_bn), the replicas' agreement and rank 0's weights everywhere
// (distributed/model_replication.h), the memory format, the GradReducer, the loss and the training
// step; rank 0 drops metrics after a resumed step, writes RUN_DIR/config.ini; then the hooks, in
// this order: rank 0's TrainingReport, the timeline's, with train.eval_every (or _epochs) the
// target (train.target_miou) and the evaluation the command's factory builds from the connected
// model and communicator, then the caller's.
//
// run(): until train.steps, one TrainingStep, then
//   - a non-finite loss on any rank: every rank stops with one error naming the step, the ranks and
//     the entries (train/step_agreement.h); the weights were not changed and no checkpoint is written;
//   - every hook's on_step_end, in the order added (progress and metrics, evaluation, ...);
//   - a checkpoint when train/checkpoint_policy.h says so (rank 0 writes; hooks hear on_checkpoint);
//   - after an agreed preemption signal (train/preemption.h) the checkpoint is written and run()
//     returns preempted_exit_status.
//
// Exact resume: augmentation is keyed by (seed, epoch, sample index), dropout reseeded from (seed,
// step, rank) every step, and the checkpoint holds the step, the data position, the weights and
// buffers, the optimizer's state and the loss scale; on CPU with the same world size a resumed run logs the
// very losses the uninterrupted run would have. A different world size is accepted when the samples consumed
// in the current epoch divide evenly among the new ranks, else refused with the reason.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "atrous/train/evaluation_hook.h"
#include "atrous/train/prepared_training.h"
#include "atrous/train/train_options.h"
#include "atrous/train/training_hook.h"

namespace atrous {
class Logger;
namespace distributed {
class World;
class Communicator;
}  // namespace distributed
namespace model {
class DeepLabImpl;
}
}  // namespace atrous

namespace atrous::train {

// The evaluation of train.eval_every, built from the trained model and the connected communicator
// (the eval layer's: cli/train_command.cpp).
using EvaluationFactory = std::function<EvaluationHook::Evaluation(std::shared_ptr<model::DeepLabImpl>,
                                                                   distributed::Communicator&)>;

class Trainer {
 public:
  // Collective, once on every rank. evaluation: required when the options evaluate, else unused.
  // hooks: called after the trainer's own, in this order, on every rank.
  Trainer(std::unique_ptr<PreparedTraining> prepared, const EvaluationFactory& evaluation,
          std::vector<std::unique_ptr<TrainingHook>> hooks = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains up to train.steps; returns 0, or preempted_exit_status after a preemption checkpoint.
  int run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace atrous::train
