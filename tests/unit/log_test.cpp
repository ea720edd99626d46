#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "atrous/core/log.h"
#include "atrous/core/rank_label.h"

namespace atrous {
namespace {

LogOptions at_level(const std::string& level) {
  LogOptions options;
  options.level = parse_choice("log.level", log_level_choices(), level);
  return options;
}

TEST(Logger, RootPrintsCollectiveMessagesWithTimestampAndLevel) {
  std::ostringstream out, err;
  Logger log(at_level("info"), /*is_root=*/true, out, err);
  log.info("step ", 10, " of ", 20);
  log.debug("hidden");
  log.warn("careful");
  EXPECT_TRUE(
      std::regex_match(out.str(), std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO  step 10 of 20\n)")))
      << out.str();
  EXPECT_TRUE(std::regex_match(err.str(), std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARN  careful\n)")))
      << err.str();
}

TEST(Logger, OtherRanksStaySilentForCollectiveMessages) {
  std::ostringstream out, err;
  Logger log(at_level("debug"), /*is_root=*/false, out, err);
  log.debug("a");
  log.info("b");
  log.warn("c");
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), "");
}

TEST(Logger, AnyRankReportsItsOwnProblemsWithItsRankLabel) {
  const RankLabel original = rank_label();
  set_rank_label({2, 4, "node9"});
  std::ostringstream out, err;
  Logger log(at_level("info"), /*is_root=*/false, out, err);
  log.rank_warning("disk almost full");
  log.rank_error("cannot read sample 17");
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(err.str().find("WARN  [rank 2/4 node9] disk almost full\n"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("ERROR [rank 2/4 node9] cannot read sample 17\n"), std::string::npos) << err.str();
  set_rank_label(original);
}

TEST(Logger, LevelThresholdFiltersEveryKind) {
  std::ostringstream out, err;
  Logger log(at_level("error"), /*is_root=*/true, out, err);
  log.info("hidden info");
  log.warn("hidden warning");
  log.rank_warning("hidden rank warning");
  log.rank_error("shown rank error");
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str().find("hidden"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("shown rank error"), std::string::npos) << err.str();
}

TEST(Logger, UnknownLevelIsAnOptionErrorNamingTheOption) {
  std::ostringstream out, err;
  try {
    Logger log(at_level("verbose"), true, out, err);
    FAIL() << "accepted log.level=verbose";
  } catch (const OptionError& error) {
    EXPECT_NE(error.message().find("--log.level = verbose"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("debug, info, warn or error"), std::string::npos) << error.message();
  }
}

}  // namespace
}  // namespace atrous
