#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "atrous/core/error.h"
#include "atrous/observe/timeline.h"
#include "scratch_files.h"

namespace atrous::observe {
namespace {

using test_support::read_text;

TEST(Timeline, StepRangesParseOrNameTheOption) {
  EXPECT_TRUE(StepRange::parse("all", "train.timeline_steps").contains(1));
  EXPECT_TRUE(StepRange::parse("all", "train.timeline_steps").contains(1000000));
  const StepRange range = StepRange::parse("3:5", "train.timeline_steps");
  EXPECT_FALSE(range.contains(2));
  EXPECT_TRUE(range.contains(3));
  EXPECT_TRUE(range.contains(5));
  EXPECT_FALSE(range.contains(6));
  for (const char* bad : {"", "3", "3:", ":5", "0:4", "5:3", "a:b", "3:5x", "1-4"}) {
    try {
      StepRange::parse(bad, "train.timeline_steps");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const OptionError& error) {
      EXPECT_NE(std::string(error.what()).find("train.timeline_steps"), std::string::npos) << error.what();
    }
  }
}

TEST(Timeline, RecordsOnlyTheStepsOfItsRangeAndMergesThePartsOfEveryRank) {
  const std::string directory = testing::TempDir() + "timeline_test";
  std::filesystem::create_directories(directory);
  const std::string file = directory + "/trace.json";
  for (int rank = 0; rank < 2; ++rank) {
    Timeline timeline(file, rank, "host" + std::to_string(rank), StepRange::parse("2:2", "t"));
    for (int64_t step = 1; step <= 3; ++step) {
      timeline.set_step(step);
      const TimelineSpan span(&timeline, step == 2 ? "forward" : "outside");
    }
    distributed::CollectiveLabel label;
    label.collective = "allreduce";
    label.sequence = 7;
    const auto now = Timeline::Clock::now();
    timeline.set_step(2);
    timeline.observer("world")->wait_ended(
        label, {now, now + std::chrono::milliseconds(3), now, now + std::chrono::milliseconds(4)});
    timeline.close();
    EXPECT_EQ(read_text(timeline_part_path(file, rank)).rfind("[\n", 0), 0u) << "a JSON Array Format part";
  }
  EXPECT_TRUE(merge_timeline_parts(file, 3) == std::vector<std::string>{timeline_part_path(file, 2)});
  const std::string trace = read_text(file);
  EXPECT_EQ(trace.rfind("{\"traceEvents\": [\n", 0), 0u);
  EXPECT_NE(trace.find("\"displayTimeUnit\": \"ms\"}"), std::string::npos);
  EXPECT_EQ(trace.find("outside"), std::string::npos) << "steps 1 and 3 are not in the range";
  for (const char* expected : {"\"name\": \"rank 0 (host0)\"", "\"name\": \"rank 1 (host1)\"",
                               "\"ph\": \"X\", \"pid\": 1, \"tid\": 0, \"name\": \"forward\"",
                               "\"name\": \"wait collective #7 (allreduce(sum))\"", "\"ph\": \"b\"",
                               "\"ph\": \"e\"", "\"id\": \"1:world:7\""})
    EXPECT_NE(trace.find(expected), std::string::npos) << expected << " in " << trace;
  EXPECT_EQ(trace.find(",\n]"), std::string::npos) << "no trailing comma";
  EXPECT_FALSE(std::filesystem::exists(timeline_part_path(file, 0)));
  std::filesystem::remove_all(directory);
}

TEST(Timeline, AnUnwritablePathIsAUserErrorNamingIt) {
  try {
    Timeline timeline("/proc/no/such/trace.json", 0, "h", StepRange{});
    FAIL() << "no error";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("/proc/no/such/trace.json.rank-0.part"), std::string::npos)
        << error.what();
  }
}

TEST(Timeline, NamesAreEscapedAndAnEventCutShortIsLeftOutOfTheMergedTrace) {
  const std::string directory = testing::TempDir() + "timeline_torn_test";
  std::filesystem::create_directories(directory);
  const std::string file = directory + "/trace.json";
  {
    Timeline timeline(file, 0, "node \"7\"", StepRange{});
    timeline.set_step(1);
    const auto now = Timeline::Clock::now();
    timeline.span("say \"hi\"\n\\", now, now);
    timeline.close();
  }
  std::ofstream(timeline_part_path(file, 0), std::ios::app)
      << "{\"ph\": \"X\", \"pid\": 0, \"na";  // a full disk
  merge_timeline_parts(file, 1);
  const std::string trace = read_text(file);
  EXPECT_NE(trace.find("\"name\": \"rank 0 (node \\\"7\\\")\""), std::string::npos) << trace;
  EXPECT_NE(trace.find("\"name\": \"say \\\"hi\\\"\\n\\\\\""), std::string::npos) << trace;
  EXPECT_EQ(trace.find("\"na\n"), std::string::npos) << "the cut event is left out: " << trace;
  const std::string end = "}\n], \"displayTimeUnit\": \"ms\"}\n";  // the last whole event, then the close
  EXPECT_EQ(trace.substr(trace.size() - end.size()), end) << trace;
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace atrous::observe
