#include "atrous/distributed/collective_waits.h"

#include <cmath>

#include "atrous/core/error.h"

namespace atrous::distributed {

const char* collective_purpose_name(CollectivePurpose purpose) {
  switch (purpose) {
    case CollectivePurpose::gradients:
      return "gradients";
    case CollectivePurpose::batch_norm:
      return "batch_norm";
    case CollectivePurpose::loss:
      return "loss_reduction";
    case CollectivePurpose::step_agreement:
      return "step_agreement";
    case CollectivePurpose::other:
      return "other";
  }
  throw InternalError("unknown collective purpose", ATROUS_HERE);
}

double WaitSeconds::total() const {
  double sum = 0;
  for (double s : seconds) sum += s;
  return sum;
}

WaitSeconds WaitSeconds::operator-(const WaitSeconds& earlier) const {
  WaitSeconds difference;
  for (size_t i = 0; i < seconds.size(); ++i) difference.seconds[i] = seconds[i] - earlier.seconds[i];
  return difference;
}

WaitSeconds& WaitSeconds::operator+=(const WaitSeconds& more) {
  for (size_t i = 0; i < seconds.size(); ++i) seconds[i] += more.seconds[i];
  return *this;
}

void CollectiveWaits::add(CollectivePurpose purpose, double seconds) {
  nanoseconds_[size_t(purpose)].fetch_add(std::llround(seconds * 1e9), std::memory_order_relaxed);
}

WaitSeconds CollectiveWaits::snapshot() const {
  WaitSeconds snapshot;
  for (size_t i = 0; i < nanoseconds_.size(); ++i)
    snapshot.seconds[i] = double(nanoseconds_[i].load(std::memory_order_relaxed)) * 1e-9;
  return snapshot;
}

}  // namespace atrous::distributed
