#include <gtest/gtest.h>
#include <stdlib.h>

#include "atrous/core/environment.h"

namespace atrous {
namespace {

TEST(ParseInteger, AcceptsOnlyWholeDecimalIntegersInRange) {
  EXPECT_EQ(parse_integer("4", 1, 10), 4);
  EXPECT_EQ(parse_integer("+4", 1, 10), 4);
  EXPECT_EQ(parse_integer("-3", -5, 10), -3);
  EXPECT_EQ(parse_integer("10", 1, 10), 10);
  for (const char* bad :
       {"", " 4", "4 ", "4x", "x4", "3.5", "0x10", "11", "0", "-", "+", "99999999999999999999"})
    EXPECT_FALSE(parse_integer(bad, 1, 10).has_value()) << "'" << bad << "'";
}

TEST(EnvironmentVariable, DistinguishesUnsetFromEmpty) {
  unsetenv("ATROUS_TEST_VARIABLE");
  EXPECT_FALSE(environment_variable("ATROUS_TEST_VARIABLE").has_value());
  setenv("ATROUS_TEST_VARIABLE", "", 1);
  EXPECT_EQ(environment_variable("ATROUS_TEST_VARIABLE"), std::string());
  setenv("ATROUS_TEST_VARIABLE", "abc", 1);
  EXPECT_EQ(environment_variable("ATROUS_TEST_VARIABLE"), std::string("abc"));
  unsetenv("ATROUS_TEST_VARIABLE");
}

}  // namespace
}  // namespace atrous
