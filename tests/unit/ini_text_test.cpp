#include "atrous/core/ini_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "atrous/core/error.h"

namespace atrous {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_ini(text, "in config file 'x.ini'");
  } catch (const OptionError& error) {
    return error.message();
  }
  return "no error";
}

TEST(IniText, ReadsSectionsNamesValuesAndComments) {
  const std::vector<IniEntry> entries = parse_ini(
      "# a comment\ntop = 1\n[train]  # the section\n  steps =  20  # command line\n"
      "run_dir=\n\n[ optim ]\nlr = 0.1#tight\n",
      "here");
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].key, "top");
  EXPECT_EQ(entries[0].value, "1");
  EXPECT_EQ(entries[1].key, "train.steps");
  EXPECT_EQ(entries[1].value, "20");
  EXPECT_EQ(entries[1].line, 4);
  EXPECT_EQ(entries[2].key, "train.run_dir");
  EXPECT_EQ(entries[2].value, "");
  EXPECT_EQ(entries[3].key, "optim.lr");
  EXPECT_EQ(entries[3].value, "0.1");
}

// Whatever a value holds, ini_value() writes what parse_ini() reads back as that value.
TEST(IniText, EveryValueReadsBackAsItWasWritten) {
  const std::vector<std::string> values = {
      "/runs/plain",  "/runs/r#1",   " leading", "trailing ", "\"quoted\"", "back\\slash\"mixed",
      "two\nlines\r", "tab\tinside", "\"",       "",          "#",          "  ",
      "a = b"};
  for (const std::string& value : values) {
    const std::string text = "[s]\nname = " + ini_value(value) + "  # command line\n";
    const std::vector<IniEntry> entries = parse_ini(text, "here");
    ASSERT_EQ(entries.size(), 1u) << text;
    EXPECT_EQ(entries[0].value, value) << text;
  }
  EXPECT_EQ(ini_value("/runs/plain"), "/runs/plain") << "plain values stay as people write them";
  EXPECT_EQ(ini_value("/runs/r#1"), "\"/runs/r#1\"");
}

TEST(IniText, MalformedLinesNameTheLineAndTheFile) {
  EXPECT_EQ(
      error_of("[train]\nsteps 20\n"),
      "invalid line 'steps 20' (line 2) in config file 'x.ini': lines are [section], name = value, or a "
      "comment");
  EXPECT_NE(error_of("[train\n").find("a section is written [name]"), std::string::npos);
  EXPECT_NE(error_of("a = \"open\n").find("the quoted value has no closing '\"'"), std::string::npos);
  EXPECT_NE(error_of("a = \"x\" y\n").find("only a comment ('# ...') may follow a quoted value"),
            std::string::npos);
  EXPECT_NE(error_of("a = \"\\q\"\n").find("knows only the escapes"), std::string::npos);
  EXPECT_NE(error_of("= 3\n").find("line 1"), std::string::npos);
}

}  // namespace
}  // namespace atrous
