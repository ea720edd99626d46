#pragma once
// The two JSON values that atrous's hand-written JSON (metrics.jsonl, eval.json) is built from.
//   json_string("a \"b\"\n")  ->  "a \"b\"\n" with its quotes: the text escaped as RFC 8259 asks
//                                (quote, backslash, and every control character below 0x20);
//                                other bytes, UTF-8 included, pass unchanged
//   json_number(0.25)         ->  0.25, with up to 8 significant digits; NaN and infinities, which
//                                JSON cannot hold, are null
// Class names, loss names and paths come from users' files: they go through json_string, never
// between two quote characters by hand.

#include <string>

namespace atrous {

std::string json_string(const std::string& text);
std::string json_number(double value);

}  // namespace atrous
