// JSON values (core/json.h), and the metrics JSON that users' class names go into.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

}  // namespace
}  // namespace atrous
