// JSON values (core/json.h), and the metrics JSON that users' class names go into.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <locale>

#include "atrous/core/json.h"
#include "atrous/eval/evaluator.h"

namespace atrous {
namespace {

TEST(JsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_string("road"), "\"road\"");
  EXPECT_EQ(json_string("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(json_string("C:\\data"), "\"C:\\\\data\"");
  EXPECT_EQ(json_string("a\nb\tc\rd"), "\"a\\nb\\tc\\rd\"");
  EXPECT_EQ(json_string(std::string("x\x01y\x1f", 4)), "\"x\\u0001y\\u001f\"");
  EXPECT_EQ(json_string("caf\xC3\xA9 / \xE8\xBB\x8A"), "\"caf\xC3\xA9 / \xE8\xBB\x8A\"");  // UTF-8 unchanged
  EXPECT_EQ(json_string(""), "\"\"");
}

TEST(ValidUtf8, ReplacesEachIllFormedSubpartWithTheReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  for (const char* good : {"", "plain", "caf\xC3\xA9", "\xE8\xBB\x8A", "\xF0\x9F\x9A\x97", "\x7F",
                           "\xED\x9F\xBF", "\xF4\x8F\xBF\xBF"})
    EXPECT_EQ(valid_utf8(good), good);
  EXPECT_EQ(valid_utf8("a\xFF"
                       "b"),
            "a" + fffd + "b");                     // never a UTF-8 byte
  EXPECT_EQ(valid_utf8("\x80\xBF"), fffd + fffd);  // stray continuation bytes
  EXPECT_EQ(valid_utf8("\xC3"), fffd);             // cut short at the end
  EXPECT_EQ(valid_utf8("\xE8\xBB"
                       "x"),
            fffd + "x");                                                 // one U+FFFD for the cut sequence
  EXPECT_EQ(valid_utf8("\xC0\xAF"), fffd + fffd);                        // overlong '/'
  EXPECT_EQ(valid_utf8("\xE0\x80\xAF"), fffd + fffd + fffd);             // overlong, three bytes
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), fffd + fffd + fffd);             // a surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // above U+10FFFF
  EXPECT_EQ(valid_utf8("\xF0\x9F\x9A"), fffd);                           // a cut four-byte sequence
  // Latin-1 text, the usual stray: every accented byte replaced, the rest kept.
  EXPECT_EQ(valid_utf8("caf\xE9 cr\xE8me"), "caf" + fffd + " cr" + fffd + "me");
}

TEST(JsonString, TextThatIsNotUtf8StillGivesUtf8Json) {
  EXPECT_EQ(json_string("caf\xE9\n"), "\"caf\xEF\xBF\xBD\\n\"");
  EXPECT_EQ(json_string(std::string("\xC3\"", 2)), "\"\xEF\xBF\xBD\\\"\"");  // the quote is not eaten
}

// A decimal comma for the whole program, as std::locale::global(std::locale("de_DE.UTF-8")) gives.
struct DecimalComma : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

TEST(JsonNumber, IgnoresTheGlobalLocale) {
  const std::locale previous = std::locale::global(std::locale(std::locale::classic(), new DecimalComma));
  const std::string quarter = json_number(0.25), large = json_number(1234567);
  std::locale::global(previous);
  EXPECT_EQ(quarter, "0.25");
  EXPECT_EQ(large, "1234567");
}

TEST(JsonNumber, NotFiniteIsNull) {
  EXPECT_EQ(json_number(0.25), "0.25");
  EXPECT_EQ(json_number(1.0 / 3), "0.33333333");
  EXPECT_EQ(json_number(std::nan("")), "null");
  EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(json_number(-std::numeric_limits<double>::infinity()), "null");
}

TEST(MetricsJson, ClassNamesAreEscapedAndAbsentClassesAreNull) {
  eval::EvalResult result;
  result.matrix = at::tensor({3, 1, 0, 0, 2, 0, 0, 0, 0}, at::kLong).reshape({3, 3});
  result.metrics = eval::segmentation_metrics(result.matrix);
  result.samples = 2;
  const std::string json = eval::metrics_json(result, {"back\"ground", "a\\b", "new\nline"});
  EXPECT_NE(json.find("\"iou\": {\"back\\\"ground\": 0.75, \"a\\\\b\": 0.66666667, \"new\\nline\": null}"),
            std::string::npos)
      << json;
}

TEST(MetricsJson, EveryClassKeepsItsOwnKey) {
  eval::EvalResult result;
  result.matrix = at::tensor({1, 0, 0, 0, 1, 0, 0, 0, 1}, at::kLong).reshape({3, 3});
  result.metrics = eval::segmentation_metrics(result.matrix);
  result.samples = 1;
  // Two classes of one name, and two names that are one once their stray bytes are replaced.
  EXPECT_NE(eval::metrics_json(result, {"road", "road", "car"})
                .find("\"iou\": {\"road\": 1, \"road (class 1)\": 1, \"car\": 1}"),
            std::string::npos);
  EXPECT_NE(eval::metrics_json(result, {"a\xFF", "a\xFE", "b"})
                .find("\"iou\": {\"a\xEF\xBF\xBD\": 1, \"a\xEF\xBF\xBD (class 1)\": 1, \"b\": 1}"),
            std::string::npos);
}

}  // namespace
}  // namespace atrous
