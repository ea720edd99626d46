// The step agreement (train/step_agreement.h) on every rank of a real job: losses averaged over the
// ranks, the ranks with a non-finite loss listed (their values sent as 0), and a flag raised by one
// rank alone (preemption on the last rank, the checkpoint clock on rank 0) seen by every rank.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "atrous/train/step_agreement.h"
#include "mpi_test_world.h"

namespace atrous::train {
namespace {

TEST(StepAgreement, AveragesLossesListsNonFiniteRanksAndSharesOneRanksFlags) {
  distributed::Communicator& comm = test_support::test_communicator();
  const int rank = comm.rank(), n = comm.size();
  const bool last = rank == n - 1;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // Rank r reports total r + 1 and entry "merged" 2 (r + 1); the last rank's entry is NaN when n > 1.
  const double entry = n > 1 && last ? nan : 2.0 * (rank + 1);
  const StepAgreement agreed =
      agree_on_step(comm, rank + 1.0, {{"merged", entry}}, /*preempt=*/last, /*checkpoint_time=*/rank == 0);

  // The non-finite rank contributes 0 to both sums (its total too: its loss as a whole is not finite).
  const double total_sum = n * (n + 1) / 2.0 - (n > 1 ? n : 0);
  EXPECT_DOUBLE_EQ(agreed.total, total_sum / n);
  ASSERT_EQ(agreed.entries.size(), 1u);
  EXPECT_EQ(agreed.entries[0].name, "merged");
  EXPECT_DOUBLE_EQ(agreed.entries[0].value, 2.0 * total_sum / n);
  if (n > 1)
    EXPECT_EQ(agreed.nonfinite_ranks, std::vector<int>{n - 1});
  else
    EXPECT_TRUE(agreed.nonfinite_ranks.empty());
  EXPECT_TRUE(agreed.preempted);
  EXPECT_TRUE(agreed.checkpoint_time);

  EXPECT_FALSE(agreed.overflow);

  const StepAgreement quiet = agree_on_step(comm, 1.0, {{"merged", 1.0}}, false, false);
  EXPECT_TRUE(quiet.nonfinite_ranks.empty());
  EXPECT_FALSE(quiet.preempted);
  EXPECT_FALSE(quiet.checkpoint_time);
  EXPECT_FALSE(quiet.overflow);

  // One rank's gradient overflow (fp16 loss scaling) is every rank's, with the loss finite everywhere.
  const StepAgreement overflowed =
      agree_on_step(comm, 1.0, {{"merged", 1.0}}, false, false, /*overflow=*/last);
  EXPECT_TRUE(overflowed.overflow);
  EXPECT_TRUE(overflowed.nonfinite_ranks.empty());
  const std::string overflow_message = nonfinite_loss_error(overflowed, 9).message();
  EXPECT_NE(overflow_message.find("the gradients are not finite at step 9 although the loss is"),
            std::string::npos)
      << overflow_message;
  EXPECT_DOUBLE_EQ(quiet.total, 1.0);

  if (n > 1) {
    const std::string message = nonfinite_loss_error(agreed, 7).message();
    EXPECT_NE(message.find("the loss is not finite at step 7 on rank(s) " + std::to_string(n - 1)),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("Lower optim.lr"), std::string::npos) << message;
  }
}

// A rank whose step failed (its own error, reported afterwards through agree_on_errors) is listed
// on every rank, and its values, even a NaN, count as 0 rather than as a non-finite loss.
TEST(StepAgreement, ListsTheRanksWhoseStepFailed) {
  distributed::Communicator& comm = test_support::test_communicator();
  const int rank = comm.rank(), n = comm.size();
  const bool last = rank == n - 1;
  const double value = last ? std::numeric_limits<double>::quiet_NaN() : 4.0;
  const StepAgreement agreed = agree_on_step(comm, value, {{"merged", value}}, false, false, false, last);
  EXPECT_EQ(agreed.failed_ranks, std::vector<int>{n - 1});
  EXPECT_TRUE(agreed.nonfinite_ranks.empty());
  EXPECT_DOUBLE_EQ(agreed.total, 4.0 * (n - 1) / n);
  EXPECT_DOUBLE_EQ(agreed.entries[0].value, 4.0 * (n - 1) / n);
  EXPECT_TRUE(agree_on_step(comm, 1.0, {{"merged", 1.0}}, false, false).failed_ranks.empty());
}

}  // namespace
}  // namespace atrous::train
