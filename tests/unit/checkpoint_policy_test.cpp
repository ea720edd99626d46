// When the trainer writes a checkpoint (train/checkpoint_policy.h): the reasons in their order of
// precedence, and none between them.

#include <gtest/gtest.h>

#include "atrous/train/checkpoint_policy.h"

namespace atrous::train {
namespace {

TEST(CheckpointPolicy, ReasonsInOrderOfPrecedence) {
  CheckpointOptions options;
  options.every_steps = 10;
  options.every_minutes = 5;
  EXPECT_FALSE(checkpoint_time_due(options, 299.9));
  EXPECT_TRUE(checkpoint_time_due(options, 300));
  EXPECT_EQ(checkpoint_due(options, 7, 100, false, false), CheckpointReason::none);
  EXPECT_EQ(checkpoint_due(options, 20, 100, false, false), CheckpointReason::every_steps);
  EXPECT_EQ(checkpoint_due(options, 21, 100, true, false), CheckpointReason::every_minutes);
  EXPECT_EQ(checkpoint_due(options, 100, 100, false, false), CheckpointReason::final);
  EXPECT_EQ(checkpoint_due(options, 20, 100, true, false), CheckpointReason::every_steps);
  EXPECT_EQ(checkpoint_due(options, 100, 100, true, false), CheckpointReason::final);
  // A preemption always checkpoints, whatever else is due.
  EXPECT_EQ(checkpoint_due(options, 7, 100, false, true), CheckpointReason::preempted);
  EXPECT_EQ(checkpoint_due(options, 100, 100, true, true), CheckpointReason::preempted);
}

TEST(CheckpointPolicy, ZeroTurnsAPeriodOff) {
  CheckpointOptions options;  // every_steps 0, every_minutes 0
  EXPECT_FALSE(checkpoint_time_due(options, 1e9));
  EXPECT_EQ(checkpoint_due(options, 1000, 2000, false, false), CheckpointReason::none);
  EXPECT_EQ(checkpoint_due(options, 2000, 2000, false, false), CheckpointReason::final);
  EXPECT_STREQ(checkpoint_reason_name(CheckpointReason::every_minutes), "every_minutes");
  EXPECT_STREQ(checkpoint_reason_name(CheckpointReason::preempted), "preempted");
}

}  // namespace
}  // namespace atrous::train
