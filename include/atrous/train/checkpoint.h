#pragma once
// Checkpoints: everything a run needs to continue exactly where it stopped.
//
// One file per checkpoint, RUN_DIR/checkpoints/step-<step>.pt, a torch.save-compatible zip (Python
// reads it with torch.load) holding a dict: format "atrous-checkpoint", version 3, and one dict per
// section (train/checkpoint_section.h), written and read by the section's owner:
//   run          step (optimizer steps done), config (the effective configuration, INI)
//                (train/run_identity.h)
//   data         seed, world_size, epoch, position (samples of this rank's epoch consumed)
//                (train/data_position.h)
//   model        parameter and buffer name -> tensor: a state dict, so torch.load(f)["model"] loads
//                into a PyTorch model of the same names (train/model_section.h)
//   optimizer    name (train/optimizer_registry.h), steps (updates applied), state
//                ("<slot>/<parameter>" -> tensor) (train/optimizer.h)
//   loss_scaler  scale and good_steps: train.precision fp16's loss scaler, 0 and 0 otherwise
//                (train/loss_scaler.h)
// Versions 1 and 2 (one flat dict: step, epoch, position, world_size, seed, config, model, and
// version 1's `velocity` or version 2's optimizer, optimizer_steps, optimizer_state, loss_scale,
// loss_scale_good_steps) are still read, into the same sections: version 1's velocity dict is the
// state of optimizer sgd, slot "velocity", and a file without a loss scale has 0 and 0.
// There is no generator state to store: augmentation draws from (seed, epoch, sample index) and
// dropout is reseeded from (seed, step, rank) at every step.
// Writing (rank 0 only): a temporary file in the same folder, fsync, rename, fsync of the folder;
// then RUN_DIR/checkpoints/latest (the file name) is replaced the same way, and all but the newest
// `keep` checkpoints up to this one are deleted (never a later step: that belongs to another run in
// the folder, one started with train.resume none). A crash at any moment leaves the previous
// checkpoint and a latest pointer that names a complete file (core/output_file.h).

#include <cstdint>
#include <string>

#include "atrous/train/checkpoint_section.h"

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

// Writes the sections of step `step` into run_dir/checkpoints atomically, points `latest` at it,
// prunes to `keep`. Returns its path. A checkpoint holding a tensor or a number that is not finite (a
// diverged run) is never written: a UserError says so, naming the first such value, and the run's
// checkpoints and `latest` stay as they were, so a good one is never pruned for it.
std::string save_checkpoint(const std::string& run_dir, int64_t step, const CheckpointContents& contents,
                            int keep);

// Reads a checkpoint file; UserError naming the file when it is missing, truncated, changed after it
// was written (an entry fails the CRC-32 the zip stores for it: core/zip_integrity.h), or not an
// atrous checkpoint of versions 1 to 3, or holds a tensor that is not finite (a diverged run's). A
// resume therefore never starts from damaged weights.
CheckpointContents load_checkpoint(const std::string& path);

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
