#pragma once
// Where a step's time waiting for collectives goes.
//
// Every collective says what it is for (CollectivePurpose, part of its CollectiveLabel); a caller
// that passes no purpose gets `other`. The step waits for four kinds of collective, and each is
// accounted on its own so that none can hide behind another:
//   gradients        the GradReducer's buckets: what is still in flight after backward
//   batch_norm       SyncBatchNorm's statistics (forward) and gradient sums (backward)
//   loss             the loss's normaliser and the global top-k search ("loss_reduction": a
//                    metrics key of its own, apart from the loss values)
//   step_agreement   the per-step agreement on losses, non-finite ranks and stopping
//   other            start-up, model replication, evaluation
//
// CollectiveWaits accumulates, per purpose, the seconds that callers spent inside Work::wait():
// the time a rank could not compute because it needed a collective's result (exposed
// communication). A communicator reports into it once attached (Communicator::account_waits_in);
// several communicators can share one. add() may be called from any thread.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace atrous::distributed {

enum class CollectivePurpose { gradients, batch_norm, loss, step_agreement, other };
constexpr size_t collective_purpose_count = 5;

// "gradients", "batch_norm", "loss_reduction", "step_agreement", "other": labels, logs, metrics keys.
const char* collective_purpose_name(CollectivePurpose purpose);

// Seconds per purpose: a snapshot of CollectiveWaits, or the difference of two.
struct WaitSeconds {
  std::array<double, collective_purpose_count> seconds{};

  double& operator[](CollectivePurpose purpose) { return seconds[size_t(purpose)]; }
  double operator[](CollectivePurpose purpose) const { return seconds[size_t(purpose)]; }
  double total() const;
  WaitSeconds operator-(const WaitSeconds& earlier) const;
  WaitSeconds& operator+=(const WaitSeconds& more);
};

class CollectiveWaits {
 public:
  void add(CollectivePurpose purpose, double seconds);
  WaitSeconds snapshot() const;

 private:
  std::array<std::atomic<int64_t>, collective_purpose_count> nanoseconds_{};
};

}  // namespace atrous::distributed
