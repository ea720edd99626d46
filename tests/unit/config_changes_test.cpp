// What a resume changes: the options that differ from the checkpoint's configuration, and the rule
// that a network option may not change while a schedule may.

#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/train/config_changes.h"

namespace atrous::train {
namespace {

const char* const written =
    "[model]\nbackbone = resnet50  # default\noutput_stride = 16  # default\n"
    "[optim]\nlearning_rate = 0.05  # config file 'a.ini'\n"
    "[train]\nresume = none  # command line\nrun_dir = /old/run\nsteps = 30  # command line\n";

TEST(ConfigChanges, SourceCommentsTrainResumeAndTheRunFolderAreNoChange) {
  const std::string now =
      "[model]\nbackbone = resnet50  # config file 'b.ini'\noutput_stride = 16  # command line\n"
      "[optim]\nlearning_rate = 0.05  # default\n"
      "[train]\nresume = auto  # default\nrun_dir = /new/run\nsteps = 30  # default\n";
  EXPECT_TRUE(config_changes(written, now).empty());
}

TEST(ConfigChanges, ListsEveryDifferentValueInTheOrderOfTheNewConfiguration) {
  const std::string now =
      "[model]\nbackbone = resnet50\noutput_stride = 16\n[optim]\nlearning_rate = 0.01\n"
      "schedule = step\n[train]\nsteps = 40\n";
  const std::vector<ConfigChange> changes = config_changes(written, now);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(change_text(changes[0]), "optim.learning_rate 0.05 -> 0.01");
  EXPECT_EQ(change_text(changes[1]), "optim.schedule (none) -> step");
  EXPECT_EQ(change_text(changes[2]), "train.steps 30 -> 40");
  EXPECT_EQ(check_resume_changes(changes, "step-30.pt"),
            "optim.learning_rate 0.05 -> 0.01, optim.schedule (none) -> step, train.steps 30 -> 40");
}

TEST(ConfigChanges, AnOptionTheNewConfigurationLacksIsAChangeToNone) {
  const std::vector<ConfigChange> changes = config_changes("[old]\ngone = 1\n", "");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(change_text(changes[0]), "old.gone 1 -> (none)");
}

TEST(ConfigChanges, ANetworkOptionChangeIsRefusedNamingTheCheckpointAndTheOptions) {
  const std::string now = "[model]\nbackbone = resnet50\noutput_stride = 8\n[optim]\nlearning_rate = 0.01\n";
  try {
    check_resume_changes(config_changes(written, now), "run/checkpoints/step-30.pt");
    ADD_FAILURE() << "a changed output stride was accepted";
  } catch (const UserError& error) {
    EXPECT_NE(error.message().find("'run/checkpoints/step-30.pt' holds the weights of another model "
                                   "(model.output_stride 16 -> 8)"),
              std::string::npos)
        << error.message();
    EXPECT_NE(error.message().find("--model.init_weights run/checkpoints/step-30.pt"), std::string::npos);
  }
  // Kernel choices are how the model runs here, not what it is: they may change.
  EXPECT_EQ(check_resume_changes(
                config_changes("[model]\nmemory_format = auto\n", "[model]\nmemory_format = channels_last\n"),
                "x.pt"),
            "model.memory_format auto -> channels_last");
}

TEST(ConfigChanges, AConfigurationThatDoesNotParseGivesNoChanges) {
  EXPECT_TRUE(config_changes("not an ini line\n", written).empty());
  EXPECT_TRUE(config_changes("", "").empty());
}

}  // namespace
}  // namespace atrous::train
