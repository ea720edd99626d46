#pragma once
// The step agreement: after every training step, ONE small allreduce tells every rank what the
// whole job did, so that every rank takes the same decision.
//
// agree_on_step (collective, every rank, once per step, after the gradient reduction) reduces
// [loss total, loss entries, a non-finite flag per rank, a failure flag per rank, the preemption
// flag, the checkpoint-time flag, the gradient-overflow flag] by sum:
//   - losses come back averaged over ranks (in loss.top_k_scope global they are already the global
//     batch's, the same on every rank, so the mean is that value); a non-finite value is sent as 0;
//   - every rank learns which ranks had a non-finite loss (a NaN or Inf in the total or any entry);
//   - and which ranks failed: their step ended in an error of their own (a label that is neither a
//     class nor the ignore label, found when the loss is read), which the trainer then reports
//     through distributed::agree_on_errors on every rank, so the job stops cleanly and at once
//     instead of the other ranks waiting in the next collective; a failed rank's losses count as 0;
//   - preempted is true when any rank was asked to stop (one rank may have been signalled alone);
//   - checkpoint_time is true when any rank's clock says a checkpoint is due (the trainer lets rank 0
//     alone set it: ckpt.every_minutes on rank 0's clock), so every rank decides alike;
//   - overflow is true when any rank's unscaled gradients hold an inf or NaN (train/loss_scaler.h).
//
// nonfinite_loss_error: the one error every rank raises for a non-finite step, naming the step (1-based),
// the ranks and this rank's entries; nothing has been applied to the weights at that point.

#include <string>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/distributed/communicator.h"
#include "atrous/loss/segmentation_loss.h"

namespace atrous::train {

struct StepAgreement {
  double total = 0;                      // the loss, averaged over ranks
  std::vector<loss::LossEntry> entries;  // each entry, averaged over ranks
  std::vector<int> nonfinite_ranks;      // ascending; empty when every rank's loss is finite
  std::vector<int> failed_ranks;         // ascending; empty when no rank's step ended in an error
  std::string entries_text;              // this rank's entries: "merged nan, scale_1 0.52"
  bool preempted = false;
  bool checkpoint_time = false;
  bool overflow = false;
};

StepAgreement agree_on_step(distributed::Communicator& comm, double total,
                            const std::vector<loss::LossEntry>& entries, bool preempt, bool checkpoint_time,
                            bool overflow = false, bool failed = false);

// step: the 1-based number of the step that was not finite.
UserError nonfinite_loss_error(const StepAgreement& agreement, int64_t step);

}  // namespace atrous::train
