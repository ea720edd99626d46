#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/distributed/error_agreement.h"
#include "mpi_test_world.h"

namespace atrous::distributed {
namespace {

using atrous::test_support::test_world;

std::exception_ptr error_of(const Error& error) {
  return std::make_exception_ptr(error);
}

// Runs agree_on_errors with this rank's error and returns {status thrown (0: returned), stderr}.
std::pair<int, std::string> agree(std::exception_ptr local) {
  ::testing::internal::CaptureStderr();
  int status = 0;
  try {
    agree_on_errors(test_world().comm(), local);
  } catch (const ReportedError& reported) {
    status = reported.exit_status();
  }
  return {status, ::testing::internal::GetCapturedStderr()};
}

TEST(ErrorAgreement, ReturnsWhenNoRankFailed) {
  auto [status, printed] = agree(nullptr);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(printed, "");
}

TEST(ErrorAgreement, SameMistakeOnEveryRankIsPrintedOnceByRankZero) {
  auto [status, printed] = agree(error_of(OptionError("option --x = 3 is not allowed", ATROUS_HERE)));
  EXPECT_EQ(status, 2);
  if (test_world().is_root()) {
    EXPECT_EQ(printed.find("atrous: error: option --x = 3 is not allowed (on all " +
                           std::to_string(test_world().size()) + " ranks; at tests/mpi/"),
              0u)
        << printed;
    EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 1) << printed;
  } else {
    EXPECT_EQ(printed, "");
  }
}

TEST(ErrorAgreement, OneFailingRankPrintsItsOwnErrorAndEveryRankStops) {
  const World& world = test_world();
  const int failing = world.size() - 1;
  std::exception_ptr local;
  if (world.rank() == failing) local = error_of(UserError("cannot read /data/x.h5", ATROUS_HERE));
  auto [status, printed] = agree(local);
  EXPECT_EQ(status, 1);  // on every rank, including those that did not fail
  if (world.rank() == failing) {
    EXPECT_NE(printed.find("[rank " + std::to_string(failing) + "/"), std::string::npos) << printed;
    EXPECT_NE(printed.find("cannot read /data/x.h5"), std::string::npos) << printed;
  } else if (world.is_root()) {
    EXPECT_NE(printed.find("1 of " + std::to_string(world.size()) + " ranks failed"), std::string::npos)
        << printed;
  } else {
    EXPECT_EQ(printed, "");
  }
}

TEST(ErrorAgreement, DifferentMistakesAreEachPrintedAndTheWorstStatusWins) {
  const World& world = test_world();
  std::exception_ptr local =
      world.rank() == 0
          ? error_of(OptionError("bad option on rank 0", ATROUS_HERE))
          : error_of(UserError("bad file on rank " + std::to_string(world.rank()), ATROUS_HERE));
  auto [status, printed] = agree(local);
  EXPECT_EQ(status, 2);
  EXPECT_NE(printed.find(world.rank() == 0 ? "bad option on rank 0"
                                           : "bad file on rank " + std::to_string(world.rank())),
            std::string::npos)
      << printed;
}

}  // namespace
}  // namespace atrous::distributed
