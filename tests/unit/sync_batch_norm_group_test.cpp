// dist.sync_bn_group: parsing, and which ranks share a batch norm (distributed/sync_batch_norm_group.h).
#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/distributed/sync_batch_norm_group.h"

namespace atrous::distributed {
namespace {

using Kind = SyncBatchNormGroup::Kind;

TEST(SyncBatchNormGroup, ParsesAllNodeAndABlockSize) {
  EXPECT_EQ(SyncBatchNormGroup::parse("all").kind, Kind::all);
  EXPECT_EQ(SyncBatchNormGroup::parse("node").kind, Kind::node);
  const SyncBatchNormGroup four = SyncBatchNormGroup::parse("4");
  EXPECT_EQ(four.kind, Kind::ranks);
  EXPECT_EQ(four.ranks, 4);
  for (const char* text : {"all", "node", "1", "16"}) EXPECT_EQ(SyncBatchNormGroup::parse(text).text(), text);
}

TEST(SyncBatchNormGroup, AnythingElseIsAnOptionErrorNamingTheOption) {
  for (const char* text : {"", "0", "-2", "2.5", "x", "4 ", "All", "99999999999"}) {
    try {
      SyncBatchNormGroup::parse(text);
      ADD_FAILURE() << "'" << text << "' accepted";
    } catch (const OptionError& error) {
      EXPECT_NE(error.message().find("dist.sync_bn_group"), std::string::npos) << error.message();
      EXPECT_NE(error.message().find("all, node or a number of ranks > 0"), std::string::npos)
          << error.message();
    }
  }
  SyncBatchNormOptions options;
  options.group = "nodes";
  EXPECT_THROW(options.validate(4), OptionError);
  options.group = "3";
  EXPECT_THROW(options.validate(4), OptionError);
  options.group = "2";
  EXPECT_NO_THROW(options.validate(4));
}

TEST(SyncBatchNormGroup, TheLeaderIsTheGroupsLowestRank) {
  const SyncBatchNormGroup all{Kind::all, 0}, node{Kind::node, 0}, pairs{Kind::ranks, 2},
      single{Kind::ranks, 1};
  for (int rank = 0; rank < 8; ++rank) {
    EXPECT_EQ(sync_batch_norm_group_leader(all, rank, 8, rank - rank % 4), 0);
    EXPECT_EQ(sync_batch_norm_group_leader(node, rank, 8, rank - rank % 4), rank - rank % 4);
    EXPECT_EQ(sync_batch_norm_group_leader(pairs, rank, 8, 0), rank / 2 * 2);
    EXPECT_EQ(sync_batch_norm_group_leader(single, rank, 8, 0), rank);
  }
}

TEST(SyncBatchNormGroup, ABlockThatDoesNotDivideTheRanksIsRefused) {
  try {
    sync_batch_norm_group_leader({Kind::ranks, 3}, 0, 8, 0);
    FAIL() << "blocks of 3 accepted on 8 ranks";
  } catch (const OptionError& error) {
    EXPECT_NE(error.message().find("dist.sync_bn_group"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("divides the job's 8 ranks"), std::string::npos) << error.message();
  }
}

}  // namespace
}  // namespace atrous::distributed
