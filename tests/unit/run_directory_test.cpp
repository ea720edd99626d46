// RunDirectory: metrics.jsonl on resume (only step records past the resumed step are dropped), each
// segment's configuration, and a failed first start that leaves nothing behind.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "atrous/train/run_directory.h"
#include "scratch_files.h"

namespace atrous::train {
namespace {

TEST(StepRecord, IsAnObjectWhoseFirstMemberIsAnIntegerStep) {
  EXPECT_EQ(step_record_step(R"({"step": 12, "loss": 0.5})"), 12);
  EXPECT_EQ(step_record_step(R"({"step": 3, "eval": {"miou": 0.9}})"), 3);
  EXPECT_EQ(step_record_step(R"(  { "step" :7 })"), 7);
  EXPECT_EQ(step_record_step(R"({"step": 0})"), 0);
  // Not step records: kept whatever they say.
  EXPECT_EQ(step_record_step(R"({"note": "tuned lr", "best": {"step": 99}})"), std::nullopt);
  EXPECT_EQ(step_record_step(R"({"comment": "the \"step\": 40 was bad"})"), std::nullopt);
  EXPECT_EQ(step_record_step(R"({"step": 12.5})"), std::nullopt);
  EXPECT_EQ(step_record_step(R"({"step": "12"})"), std::nullopt);
  EXPECT_EQ(step_record_step(R"({"step": 1e3})"), std::nullopt);
  EXPECT_EQ(step_record_step(R"({"step": 99999999999999999999999})"), std::nullopt);
  EXPECT_EQ(step_record_step("step 12"), std::nullopt);
  EXPECT_EQ(step_record_step(""), std::nullopt);
}

TEST(RunDirectory, ResumeDropsLaterStepRecordsAndKeepsEveryOtherLine) {
  const std::string folder = ::testing::TempDir() + "run_directory_test_" + std::to_string(::getpid());
  {
    RunDirectory run(folder);
    for (const char* line : {R"({"step": 1, "loss": 2})", R"({"note": "mine", "best": {"step": 99}})",
                             R"({"step": 5, "loss": 1})", "free text a user wrote",
                             R"({"step": 6, "loss": 1})", R"({"step": 7, "eval": {"miou": 0.5}})"})
      run.append_metrics(line);
    run.truncate_metrics_after(5);
    run.append_metrics(R"({"step": 6, "loss": 0.9})");
  }
  EXPECT_EQ(test_support::read_text(folder + "/metrics.jsonl"), R"({"step": 1, "loss": 2}
{"note": "mine", "best": {"step": 99}}
{"step": 5, "loss": 1}
free text a user wrote
{"step": 6, "loss": 0.9}
)");
  test_support::remove_tree(folder);
}

TEST(RunDirectory, EachSegmentsConfigurationIsKeptAndConfigIniIsTheLatest) {
  const std::string folder = ::testing::TempDir() + "run_directory_segments_" + std::to_string(::getpid());
  {
    RunDirectory run(folder);
    run.write_config("[optim]\nlearning_rate = 0.05\n", 0);
  }
  {
    RunDirectory run(folder);
    run.write_config("[optim]\nlearning_rate = 0.01\n", 30);
  }
  EXPECT_EQ(test_support::read_text(folder + "/configs/step-0.ini"), "[optim]\nlearning_rate = 0.05\n");
  EXPECT_EQ(test_support::read_text(folder + "/configs/step-30.ini"), "[optim]\nlearning_rate = 0.01\n");
  EXPECT_EQ(test_support::read_text(folder + "/config.ini"), "[optim]\nlearning_rate = 0.01\n");
  test_support::remove_tree(folder);
}

// A start that fails before training (a mistyped pack) removes the folder it made, and only that.
TEST(RunDirectory, AFailedFirstStartLeavesNoFolderAndAnEarlierRunIsKept) {
  namespace fs = std::filesystem;
  const std::string folder = ::testing::TempDir() + "run_directory_failed_" + std::to_string(::getpid());
  { RunDirectory run(folder); }
  EXPECT_FALSE(fs::exists(folder));

  fs::create_directories(folder);
  std::ofstream(folder + "/notes.txt") << "mine\n";
  { RunDirectory run(folder); }
  EXPECT_TRUE(fs::exists(folder + "/notes.txt"));
  EXPECT_TRUE(fs::exists(folder + "/metrics.jsonl"));  // not this start's folder: nothing is removed
  test_support::remove_tree(folder);
}

}  // namespace
}  // namespace atrous::train
