#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "atrous/core/log.h"
#include "atrous/distributed/stall_inspector.h"

namespace atrous::distributed {
namespace {

RankPosition waiting_at(int rank, const std::string& communicator, uint64_t sequence,
                        const std::string& host = "n1") {
  RankPosition position;
  position.rank = rank;
  position.host = host;
  position.step = 7;
  position.at = 1000;
  position.waiting = true;
  position.communicator = communicator;
  position.sequence = sequence;
  position.since = 990.5;
  position.label = "collective #" + std::to_string(sequence) + " (allreduce(sum) of 4 float32)";
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

TEST(StallInspector, RecordsRoundTrip) {
  for (const RankPosition& position : {waiting_at(3, "batch_norm", 41), running(2, 12)}) {
    const std::optional<RankPosition> parsed = parse_rank_position(format_rank_position(position));
    ASSERT_TRUE(parsed.has_value()) << format_rank_position(position);
    EXPECT_EQ(parsed->rank, position.rank);
    EXPECT_EQ(parsed->host, position.host);
    EXPECT_EQ(parsed->step, position.step);
    EXPECT_DOUBLE_EQ(parsed->at, position.at);
    EXPECT_EQ(parsed->waiting, position.waiting);
    EXPECT_EQ(parsed->communicator, position.communicator);
    EXPECT_EQ(parsed->sequence, position.sequence);
    EXPECT_EQ(parsed->label, position.label);
  }
}

TEST(StallInspector, TornOrForeignRecordsAreNotRecords) {
  for (const char* line :
       {"", "rank=1 host=a", "rank=x host=a step=1 state=running", "rank=1 host=a step=1 state=sleeping",
        "rank=1 host=a step=1 state=waiting", "hello world"})
    EXPECT_FALSE(parse_rank_position(line).has_value()) << line;
}

TEST(StallInspector, NamesTheMembersNotWaitingForTheSameCollective) {
  const RankPosition mine = waiting_at(0, "world", 9);
  std::vector<std::optional<RankPosition>> positions(4);
  positions[0] = mine;
  positions[1] = waiting_at(1, "world", 9);       // at it
  positions[2] = running(2, 7);                   // computing (or stopped)
  positions[3] = waiting_at(3, "batch_norm", 9);  // same number, another communicator
  const std::vector<LateRank> late = late_ranks(mine, CollectiveMembers{{0, 1, 2, 3}, false}, positions);
  ASSERT_EQ(late.size(), 2u);
  EXPECT_EQ(late[0].rank, 2);
  EXPECT_EQ(late[1].rank, 3);
  EXPECT_EQ(describe_late_ranks(late, 1008.2),
            "rank 2 (n1: running step 7, in no collective, as of 8 s ago), rank 3 (n1: waiting at step 7 for "
            "collective #9 (allreduce(sum) of 4 float32) on batch_norm, as of 8 s ago)");
}

TEST(StallInspector, ARankWithoutARecordIsLateAndOnlyMembersCount) {
  const RankPosition mine = waiting_at(2, "batch_norm", 5);
  std::vector<std::optional<RankPosition>> positions(4);
  positions[0] = running(0, 3);  // not a member of the group {2, 3}
  const std::vector<LateRank> late = late_ranks(mine, CollectiveMembers{{2, 3}, false}, positions);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].rank, 3);
  EXPECT_EQ(describe_late_ranks(late, 0), "rank 3 (no record)");
  EXPECT_EQ(describe_late_ranks({}, 0), "");
}

TEST(StallInspector, ANodeGroupCountsTheRanksOfTheSameHostOnly) {
  const RankPosition mine = waiting_at(0, "batch_norm", 5, "n1");
  std::vector<std::optional<RankPosition>> positions{mine, running(1, 3, "n1"), running(2, 3, "n2")};
  const std::vector<LateRank> late = late_ranks(mine, CollectiveMembers{{0, 1, 2}, true}, positions);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].rank, 1);
}

// A CollectiveObserver's life in one process: a wait longer than the warning is published and
// reported with the members that have no record; its end publishes the rank as running again.
TEST(StallInspector, PublishesLongWaitsWarnsAndExplainsATimeout) {
  const std::string directory = testing::TempDir() + "stall_inspector_test";
  std::filesystem::remove_all(directory);
  std::ostringstream out, err;
  Logger log(LogOptions{}, /*is_root=*/true, out, err);
  StallSettings settings{directory,         /*stall_warning_s=*/0.3,
                         /*timeout_s=*/9,   /*publish_after_s=*/0.05,
                         /*heartbeat_s=*/5, /*tick_s=*/0.01};
  CollectiveLabel label;
  label.collective = "barrier";
  label.sequence = 4;
  {
    StallInspector inspector(settings, /*rank=*/0, /*world_size=*/2, "n1", log);
    inspector.set_step(12);
    const std::shared_ptr<CollectiveObserver> observer =
        inspector.observer("world", CollectiveMembers{{0, 1}, false});
    observer->wait_started(label);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    std::string record;
    std::getline(std::ifstream(directory + "/rank-0.txt") >> std::ws, record);
    const std::optional<RankPosition> published = parse_rank_position(record);
    ASSERT_TRUE(published.has_value()) << record;
    EXPECT_TRUE(published->waiting);
    EXPECT_EQ(published->step, 12);
    EXPECT_EQ(published->sequence, 4u);
    EXPECT_NE(
        err.str().find("stall at step 12: collective #4 (barrier) on world has waited 0 s; not reached by "
                       "rank 1 (no record)"),
        std::string::npos)
        << err.str();
    EXPECT_EQ(observer->failure_context(label), "; not reached by rank 1 (no record)");
    EXPECT_EQ(observer->failure_context(label), "") << "a failed wait is forgotten";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::getline(std::ifstream(directory + "/rank-0.txt") >> std::ws, record);
    EXPECT_FALSE(parse_rank_position(record)->waiting) << record;
  }
  std::filesystem::remove_all(directory);
}

TEST(StallInspector, AnUnwritableDirectoryIsAUserErrorNamingIt) {
  const std::string file = testing::TempDir() + "stall_inspector_file";
  std::ofstream(file) << "x";
  std::ostringstream out, err;
  Logger log(LogOptions{}, true, out, err);
  try {
    StallInspector inspector(StallSettings{file + "/stall"}, 0, 1, "n1", log);
    FAIL() << "no error";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find(file + "/stall"), std::string::npos) << error.what();
  }
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace atrous::distributed
