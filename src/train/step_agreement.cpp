#include "atrous/train/step_agreement.h"

#include <ATen/ATen.h>

#include <cmath>
#include <sstream>

namespace atrous::train {

StepAgreement agree_on_step(distributed::Communicator& comm, double total,
                            const std::vector<loss::LossEntry>& entries, bool preempt, bool checkpoint_time,
                            bool overflow, bool failed) {
  const int world = comm.size();
  const size_t n = entries.size();
  bool finite = std::isfinite(total);
  for (const auto& entry : entries) finite = finite && std::isfinite(entry.value);
  const auto counted = [&](double value) { return std::isfinite(value) && !failed ? value : 0.0; };
  // [total, entries..., non-finite per rank..., failed per rank..., preempt, checkpoint, overflow]
  const size_t flags = 1 + n + 2 * world;
  at::Tensor values = at::zeros({int64_t(flags + 3)}, at::kDouble);
  double* v = values.data_ptr<double>();
  v[0] = finite ? counted(total) : 0.0;
  for (size_t e = 0; e < n; ++e) v[1 + e] = counted(entries[e].value);
  v[1 + n + comm.rank()] = finite || failed ? 0.0 : 1.0;
  v[1 + n + world + comm.rank()] = failed ? 1.0 : 0.0;
  v[flags] = preempt ? 1.0 : 0.0;
  v[flags + 1] = checkpoint_time ? 1.0 : 0.0;
  v[flags + 2] = overflow ? 1.0 : 0.0;
  comm.allreduce(values, distributed::ReduceOp::sum, distributed::CollectivePurpose::step_agreement)->wait();
  v = values.data_ptr<double>();

  StepAgreement agreed;
  agreed.total = v[0] / world;
  std::ostringstream text;
  for (size_t e = 0; e < n; ++e) {
    agreed.entries.push_back({entries[e].name, v[1 + e] / world});
    text << (e ? ", " : "") << entries[e].name << " " << entries[e].value;
  }
  for (int r = 0; r < world; ++r) {
    if (v[1 + n + r] > 0) agreed.nonfinite_ranks.push_back(r);
    if (v[1 + n + world + r] > 0) agreed.failed_ranks.push_back(r);
  }
  agreed.entries_text = "this rank's entries: " + text.str();
  agreed.preempted = v[flags] > 0;
  agreed.checkpoint_time = v[flags + 1] > 0;
  agreed.overflow = v[flags + 2] > 0;
  return agreed;
}

UserError nonfinite_loss_error(const StepAgreement& agreement, int64_t step) {
  if (agreement.nonfinite_ranks.empty())  // a finite loss: the gradients overflowed (train/loss_scaler.h)
    return UserError(to_text("the gradients are not finite at step ", step,
                             " although the loss is, and the float16 loss scale is at its minimum; nothing "
                             "was applied to the weights. Train in bf16 or fp32, lower optim.lr, or resume "
                             "from the last checkpoint"),
                     ATROUS_HERE);
  std::ostringstream ranks;
  for (size_t i = 0; i < agreement.nonfinite_ranks.size(); ++i)
    ranks << (i ? "," : "") << agreement.nonfinite_ranks[i];
  return UserError(to_text("the loss is not finite at step ", step, " on rank(s) ", ranks.str(), " (",
                           agreement.entries_text,
                           "); no checkpoint was written from these weights. Lower optim.lr, "
                           "check the data, or resume from the last checkpoint"),
                   ATROUS_HERE);
}

}  // namespace atrous::train
