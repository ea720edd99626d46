#pragma once
// The values that atrous's hand-written JSON (metrics.jsonl, eval.json, the timeline) is built from.
//   json_string("a \"b\"\n")  ->  "a \"b\"\n" with its quotes: the text escaped as RFC 8259 asks
//                                (quote, backslash, and every control character below 0x20, as \n,
//                                \r, \t or \u00XX); other characters, UTF-8 included, pass unchanged.
//                                Bytes that are not UTF-8 become U+FFFD (valid_utf8() below), so the
//                                file stays UTF-8 JSON whatever the text held.
//   json_number(0.25)         ->  0.25, with up to 8 significant digits, in the classic "C" form
//                                whatever the global locale; NaN and infinities, which JSON cannot
//                                hold, are null (so a reader sees "no value", never a fake number)
// Class names, loss names, sample names and paths come from users' files: they go through
// json_string, never between two quote characters by hand.

#include <string>

namespace atrous {

std::string json_string(const std::string& text);
std::string json_number(double value);

// `text` with every byte sequence that is not well-formed UTF-8 (a stray continuation byte, a
// truncated sequence, an overlong form, a surrogate, a code point above U+10FFFF) replaced by U+FFFD,
// one per maximal ill-formed subpart, as Unicode recommends (Python's errors="replace" does the
// same); well-formed text is returned unchanged. For every text output that must be UTF-8.
std::string valid_utf8(const std::string& text);

}  // namespace atrous
