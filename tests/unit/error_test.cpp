#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/core/rank_label.h"

namespace atrous {
namespace {

int line_of_check = 0;

void fail_user_check(int value) {
  line_of_check = __LINE__ + 1;
  ATROUS_CHECK(value > 0, "value must be positive, got ", value, "; pass a positive value");
}

TEST(Error, UserCheckCarriesRankLabelMessageAndCallSite) {
  const RankLabel original = rank_label();
  set_rank_label({3, 8, "node07"});
  try {
    fail_user_check(-2);
    FAIL() << "ATROUS_CHECK did not throw";
  } catch (const UserError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::user);
    EXPECT_EQ(error.exit_status(), 1);
    EXPECT_EQ(error.message(), "value must be positive, got -2; pass a positive value");
    EXPECT_EQ(std::string(error.what()),
              "[rank 3/8 node07] value must be positive, got -2; pass a positive value (at "
              "tests/unit/error_test.cpp:" +
                  std::to_string(line_of_check) + ")");
  }
  set_rank_label(original);
}

TEST(Error, PassingCheckDoesNotThrow) {
  EXPECT_NO_THROW(fail_user_check(1));
}

TEST(Error, AssertIsAnInternalErrorThatAsksForABugReport) {
  try {
    ATROUS_ASSERT(1 + 1 == 3, "arithmetic");
    FAIL() << "ATROUS_ASSERT did not throw";
  } catch (const InternalError& error) {
    EXPECT_EQ(error.kind(), ErrorKind::internal);
    EXPECT_NE(error.message().find("1 + 1 == 3"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("bug in atrous"), std::string::npos) << error.message();
  }
}

TEST(Error, OptionErrorsExitWithStatusTwo) {
  OptionError error("option --x = 1 is not allowed", ATROUS_HERE);
  EXPECT_EQ(error.exit_status(), 2);
  EXPECT_EQ(error.kind(), ErrorKind::option);
  const UserError& as_user = error;  // an OptionError is a UserError
  EXPECT_EQ(as_user.exit_status(), 2);
}

TEST(Error, LibraryErrorKeepsLibraryCallAndLibraryText) {
  const RankLabel original = rank_label();
  set_rank_label({0, 2, "gpu01"});
  LibraryError error("MPI", "MPI_Send(buffer)", "MPI_ERR_RANK: invalid rank", {"src/x.cpp", 42});
  EXPECT_EQ(error.library(), "MPI");
  EXPECT_EQ(error.call(), "MPI_Send(buffer)");
  EXPECT_EQ(error.library_message(), "MPI_ERR_RANK: invalid rank");
  EXPECT_EQ(std::string(error.what()),
            "[rank 0/2 gpu01] MPI call MPI_Send(buffer) failed: MPI_ERR_RANK: invalid rank (at "
            "src/x.cpp:42)");
  set_rank_label(original);
}

TEST(RankLabel, UnknownRankBeforeMpi) {
  EXPECT_EQ((RankLabel{-1, -1, "h"}).text(), "[rank ?/? h]");
  EXPECT_EQ((RankLabel{12, 64, "n3"}).text(), "[rank 12/64 n3]");
  EXPECT_FALSE(local_host_name().empty());
}

TEST(Str, JoinsWithStreamOperators) {
  EXPECT_EQ(to_text("a", 1, ' ', 2.5), "a1 2.5");
}

}  // namespace
}  // namespace atrous
