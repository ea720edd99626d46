#pragma once
// Trainer: `atrous train` on every rank — the one training step of DESIGN.md, repeated.
//
// Construction (no collective, so that collective_setup can agree on its errors): rank 0 takes
// RUN_DIR (train/run_directory.h), every rank opens the pack, builds the model (model.init_weights, or the
// checkpoint train.resume names or finds), swaps in synchronised batch norms (dist.sync_bn), the
// GradReducer (same parameters on every rank, then rank 0's weights everywhere), the loss, SGD and
// the LR schedule. Rank 0 takes RUN_DIR (train/run_directory.h) and writes config.ini.
//
// Each step: train.accumulate_steps micro-batches (communication on the last only), then ONE small
// allreduce carries the loss entries, a non-finite flag per rank and the preemption flag, so that
// every rank takes the same decision: a NaN/Inf loss on any rank stops all of them with an error
// naming the step, the ranks and the entries before the weights change; a preemption signal
// (train/preemption.h) ends the run with a checkpoint and preempted_exit_status.
// Rank 0: a progress line and a metrics.jsonl object every train.log_every steps (and at the
// last), checkpoints every ckpt.every_steps / ckpt.every_minutes and at the end.
//
// Exact resume: augmentation is keyed by (seed, epoch, sample index), dropout reseeded from (seed,
// step, rank) every step, and the checkpoint holds (step, epoch, position), the weights, buffers
// and velocities; on CPU with the same world size a resumed run logs the very losses the
// uninterrupted run would have. A different world size is accepted when the samples consumed in
// the current epoch divide evenly among the new ranks, else refused with the reason.

#include <functional>
#include <memory>
#include <string>

#include "atrous/train/train_options.h"

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

class Trainer {
 public:
  // effective_config: the INI rank 0 stores in RUN_DIR/config.ini and in every checkpoint.
  Trainer(const TrainerOptions& options, const distributed::World& world, Logger& log, std::string effective_config);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // The collective part of the set-up; call once, on every rank, before run().
  void connect();

  // Evaluation inside training (train.eval_every): the evaluation layer sits above this one, so
  // the train command hands it in. Called on every rank (collective) every eval_every steps and
  // after the last; returns a JSON object (meaningful on rank 0), recorded in metrics.jsonl as
  // {"step": N, "eval": ...}. The model is in evaluation mode during the call, training mode after.
  using Evaluation = std::function<std::string(int64_t step)>;
  void set_evaluation(Evaluation evaluation) { evaluation_ = std::move(evaluation); }
  // The model and the communicator, for such an evaluation.
  std::shared_ptr<model::DeepLabImpl> model() const;
  distributed::Communicator& communicator() const;
  // Trains up to train.steps; returns 0, or preempted_exit_status after a preemption checkpoint.
  int run();

 private:
  struct State;
  std::unique_ptr<State> state_;
  Evaluation evaluation_;
};

}  // namespace atrous::train
