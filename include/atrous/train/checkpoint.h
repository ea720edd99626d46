#pragma once
// Checkpoints: everything a run needs to continue exactly where it stopped.
//
// One file per checkpoint, RUN_DIR/checkpoints/step-<step>.pt, a torch.save-compatible zip (Python
// reads it with torch.load) holding a dict:
//   format "atrous-checkpoint", version 2, step (optimizer steps done), epoch and position (the
//   sampler's place: samples of this rank's epoch consumed), world_size, seed, config (the effective
//   configuration, INI), model (name -> tensor: parameters and buffers), optimizer (its registered
//   name, train/optimizer_registry.h), optimizer_steps (updates it applied), optimizer_state
//   ("<slot>/<parameter>" -> tensor: train/optimizer.h), loss_scale and loss_scale_good_steps
//   (train.precision fp16's loss scaler; 0 and 0 otherwise).
// Version 1 (written before optimizers were registered) is still read: its `velocity` dict (name ->
// tensor) is the state of optimizer sgd, slot "velocity"; a version-1 file may lack the loss scale.
// There is no generator state to store: augmentation draws from (seed, epoch, sample index) and
// dropout is reseeded from (seed, step, rank) at every step.
// Writing (rank 0 only): a temporary file in the same folder, fsync, rename, fsync of the folder;
// then RUN_DIR/checkpoints/latest (the file name) is replaced the same way, and all but the newest
// `keep` checkpoints up to this one are deleted (never a later step: that belongs to another run in
// the folder, one started with train.resume none). A crash at any moment leaves the previous
// checkpoint and a latest pointer that names a complete file (core/output_file.h).

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

#include "atrous/train/optimizer.h"

namespace atrous {
class OptionTable;
}

namespace atrous::train {

struct CheckpointOptions {
  int every_steps = 0;       // ckpt.every_steps: 0 = never by step count
  double every_minutes = 0;  // ckpt.every_minutes: 0 = never by time
  int keep = 3;              // ckpt.keep

  static void declare(OptionTable& table, CheckpointOptions& options);
  void validate() const;
};

struct Checkpoint {
  int64_t step = 0;
  int64_t epoch = 0;
  int64_t position = 0;
  int64_t world_size = 1;
  int64_t seed = 0;
  std::string config;
  std::map<std::string, at::Tensor> model;
  OptimizerState optimizer;
  double loss_scale = 0;              // fp16's loss scale (train/loss_scaler.h); 0: none
  int64_t loss_scale_good_steps = 0;  // steps since its last overflow
};

// Writes `checkpoint` into run_dir/checkpoints atomically, points `latest` at it, prunes to `keep`.
// Returns its path. A checkpoint whose weights, buffers, optimizer state or loss scale are not all
// finite (a diverged run) is never written: a UserError says so, naming the first such tensor, and
// the run's checkpoints and `latest` stay as they were, so a good one is never pruned for it.
std::string save_checkpoint(const std::string& run_dir, const Checkpoint& checkpoint, int keep);

// Reads a checkpoint file; UserError naming the file when it is missing, truncated, changed after it
// was written (an entry fails the CRC-32 the zip stores for it: core/zip_integrity.h), or not an
// atrous checkpoint of this version. A resume therefore never starts from damaged weights.
Checkpoint load_checkpoint(const std::string& path);

// The checkpoint to resume run_dir from: the one `latest` names; when `latest` is missing, empty or
// names a file that is gone while step-<n>.pt files exist, the newest of them, with `note` saying
// why (the caller warns); path "" when the run has no checkpoint. A UserError when `latest` exists
// but no step-<n>.pt is left: the run's checkpoints were removed, and neither resuming nor starting
// over (which drops the run's metrics) is what its owner wants without saying so.
struct LatestCheckpoint {
  std::string path;
  std::string note;
};
LatestCheckpoint latest_checkpoint(const std::string& run_dir);

}  // namespace atrous::train
