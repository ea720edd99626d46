// RunDirectory's metrics.jsonl on resume: only step records past the resumed step are dropped.

#include <gtest/gtest.h>
#include <unistd.h>

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
  std::ifstream in(folder + "/metrics.jsonl");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), R"({"step": 1, "loss": 2}
{"note": "mine", "best": {"step": 99}}
{"step": 5, "loss": 1}
free text a user wrote
{"step": 6, "loss": 0.9}
)");
  test_support::remove_tree(folder);
}

}  // namespace
}  // namespace atrous::train
