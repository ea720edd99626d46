#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "atrous/core/log.h"
#include "atrous/distributed/stall_inspector.h"

namespace atrous::distributed {
namespace {

RankPosition waiting_at(int rank, std::vector<WaitPoint> waits, double at = 1000,
                        const std::string& host = "n1") {
  RankPosition position;
  position.rank = rank;
  position.host = host;
  position.step = 7;
  position.at = at;
  position.waiting = true;
  position.waits = std::move(waits);
  position.since = 990.5;
  position.label =
      "collective #" + std::to_string(position.waits.front().sequence) + " (allreduce(sum) of 4 float32)";
  return position;
}

RankPosition running(int rank, int64_t step, const std::string& host = "n1") {
  RankPosition position;
  position.rank = rank;
  position.host = host;
  position.step = step;
  position.at = 1000;
  return position;
}

std::vector<int> late_numbers(const std::vector<LateRank>& late) {
  std::vector<int> numbers;
  for (const LateRank& rank : late) numbers.push_back(rank.rank);
  return numbers;
}

TEST(StallInspector, RecordsRoundTrip) {
  for (const RankPosition& position : {waiting_at(3, {{"batch_norm", 41}, {"world", 9}}), running(2, 12)}) {
    const std::optional<RankPosition> parsed = parse_rank_position(format_rank_position(position));
    ASSERT_TRUE(parsed.has_value()) << format_rank_position(position);
    EXPECT_EQ(parsed->rank, position.rank);
    EXPECT_EQ(parsed->host, position.host);
    EXPECT_EQ(parsed->step, position.step);
    EXPECT_DOUBLE_EQ(parsed->at, position.at);
    EXPECT_EQ(parsed->waiting, position.waiting);
    ASSERT_EQ(parsed->waits.size(), position.waits.size());
    for (size_t w = 0; w < position.waits.size(); ++w) {
      EXPECT_EQ(parsed->waits[w].communicator, position.waits[w].communicator);
      EXPECT_EQ(parsed->waits[w].sequence, position.waits[w].sequence);
    }
    EXPECT_EQ(parsed->label, position.label);
  }
}

TEST(StallInspector, TornOrForeignRecordsAreNotRecords) {
  for (const char* line :
       {"", "rank=1 host=a", "rank=x host=a step=1 state=running", "rank=1 host=a step=1 state=sleeping",
        "rank=1 host=a step=1 state=waiting", "rank=1 host=a step=1 state=waiting waits=world label=x",
        "rank=1 host=a step=1 state=waiting waits=world:1x label=x", "hello world"})
    EXPECT_FALSE(parse_rank_position(line).has_value()) << line;
}

TEST(StallInspector, NamesTheMembersNotWaitingForTheSameCollective) {
  std::vector<std::optional<RankPosition>> positions(5);
  positions[1] = waiting_at(1, {{"world", 9}});                     // at it
  positions[2] = running(2, 7);                                     // computing (or stopped)
  positions[3] = waiting_at(3, {{"batch_norm", 9}});                // same number, another communicator
  positions[4] = waiting_at(4, {{"batch_norm", 3}, {"world", 9}});  // at it, and at another one
  const std::vector<LateRank> late =
      late_ranks({"world", 9}, 0, "n1", CollectiveMembers{{0, 1, 2, 3, 4}, false}, positions, 1008.2, 15);
  EXPECT_EQ(late_numbers(late), (std::vector<int>{2, 3}));
  EXPECT_EQ(describe_late_ranks(late, 1008.2),
            "rank 2 (n1: running step 7, in no collective, as of 8 s ago), rank 3 (n1: waiting at step 7 for "
            "collective #9 (allreduce(sum) of 4 float32) on batch_norm, as of 8 s ago)");
}

TEST(StallInspector, ARankSilentInsideTheCollectiveIsNamed) {
  std::vector<std::optional<RankPosition>> positions(2);
  positions[1] = waiting_at(1, {{"world", 9}}, /*at=*/1000);
  EXPECT_TRUE(
      late_ranks({"world", 9}, 0, "n1", CollectiveMembers{{0, 1}, false}, positions, 1010, 15).empty());
  const std::vector<LateRank> late =
      late_ranks({"world", 9}, 0, "n1", CollectiveMembers{{0, 1}, false}, positions, 1020, 15);
  ASSERT_EQ(late_numbers(late), (std::vector<int>{1}));
  EXPECT_TRUE(late[0].silent);
  EXPECT_EQ(describe_late_ranks(late, 1020),
            "rank 1 (n1: waiting for it at step 7 but silent for 20 s: stopped or hung)");
}

TEST(StallInspector, ARankWithoutARecordIsLateAndOnlyMembersCount) {
  std::vector<std::optional<RankPosition>> positions(4);
  positions[0] = running(0, 3);  // not a member of the group {2, 3}
  const std::vector<LateRank> late =
      late_ranks({"batch_norm", 5}, 2, "n1", CollectiveMembers{{2, 3}, false}, positions, 0, 15);
  EXPECT_EQ(late_numbers(late), (std::vector<int>{3}));
  EXPECT_EQ(describe_late_ranks(late, 0), "rank 3 (no record)");
  EXPECT_EQ(describe_late_ranks({}, 0), "");
}

TEST(StallInspector, ANodeGroupCountsTheRanksOfTheSameHostOnly) {
  std::vector<std::optional<RankPosition>> positions{std::nullopt, running(1, 3, "n1"), running(2, 3, "n2")};
  EXPECT_EQ(late_numbers(
                late_ranks({"batch_norm", 5}, 0, "n1", CollectiveMembers{{0, 1, 2}, true}, positions, 0, 15)),
            (std::vector<int>{1}));
}

std::optional<RankPosition> read_record(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return parse_rank_position(line);
}

// Polls `ready` for up to 20 s: the watchdog runs beside a loaded machine's other work.
template <class Ready>
bool eventually(Ready ready) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!ready()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The watchdog in one process: a long wait is published and warned about with the members that
// have no record; a timeout is explained the same way; the end of the wait publishes running.
TEST(StallInspector, PublishesLongWaitsWarnsAndExplainsATimeout) {
  const std::string directory = testing::TempDir() + "stall_inspector_test";
  std::filesystem::remove_all(directory);
  const std::string record = directory + "/rank-0.txt";
  std::ostringstream out, err;
  Logger log(LogOptions{}, /*is_root=*/true, out, err);
  StallSettings settings;
  settings.directory = directory;
  settings.stall_warning_s = 0.3;
  settings.timeout_s = 9;
  settings.publish_after_s = 0.05;
  settings.tick_s = 0.01;
  CollectiveLabel label;
  label.collective = "barrier";
  label.sequence = 4;
  {
    StallInspector inspector(settings, /*rank=*/0, /*world_size=*/2, "n1", log);
    inspector.set_step(12);
    const std::shared_ptr<CollectiveObserver> observer =
        inspector.observer("world", CollectiveMembers{{0, 1}, false});
    observer->wait_started(label);
    ASSERT_TRUE(eventually([&] {
      const std::optional<RankPosition> published = read_record(record);
      return published && published->waiting;
    }));
    const std::optional<RankPosition> published = read_record(record);
    EXPECT_EQ(published->step, 12);
    ASSERT_EQ(published->waits.size(), 1u);
    EXPECT_EQ(published->waits[0].communicator, "world");
    EXPECT_EQ(published->waits[0].sequence, 4u);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // past stall_warning_s
    EXPECT_EQ(observer->failure_context(label), "; not reached by rank 1 (no record)");
    EXPECT_EQ(observer->failure_context(label), "") << "a failed wait is forgotten";
    EXPECT_TRUE(eventually([&] {
      const std::optional<RankPosition> now = read_record(record);
      return now && !now->waiting;
    })) << "running again once no wait is left";
  }
  EXPECT_TRUE(
      std::regex_search(err.str(), std::regex("stall at step 12: collective #4 \\(barrier\\) on world has "
                                              "waited [0-9]+ s; not reached by rank 1 \\(no record\\)")))
      << err.str();
  std::filesystem::remove_all(directory);
}

TEST(StallInspector, AnUnwritableDirectoryIsAUserErrorNamingIt) {
  const std::string file = testing::TempDir() + "stall_inspector_file";
  std::ofstream(file) << "x";
  std::ostringstream out, err;
  Logger log(LogOptions{}, true, out, err);
  StallSettings settings;
  settings.directory = file + "/stall";
  try {
    StallInspector inspector(settings, 0, 1, "n1", log);
    FAIL() << "no error";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find(file + "/stall"), std::string::npos) << error.what();
  }
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace atrous::distributed
