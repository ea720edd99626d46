#include "atrous/core/json.h"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <locale>
#include <sstream>

namespace atrous {
namespace {

constexpr const char* replacement_character = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// The length of the well-formed UTF-8 sequence that starts at text[at]; 0 when there is none, with
// `bad` set to the length of the maximal ill-formed subpart there (at least 1 byte).
size_t sequence_length(const std::string& text, size_t at, size_t& bad) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the second byte's range (Unicode Table 3-7)
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // no overlong forms
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    bad = 1;
    return 0;
  }
  for (size_t i = 1; i < length; ++i) {
    const bool second = i == 1;
    if (at + i >= text.size() || byte(at + i) < (second ? low : 0x80) ||
        byte(at + i) > (second ? high : 0xBF)) {
      bad = i;
      return 0;
    }
  }
  return length;
}

}  // namespace

std::string valid_utf8(const std::string& text) {
  std::string out;
  bool repaired = false;  // out holds the text so far only once a repair was needed
  size_t at = 0, bad = 0;
  while (at < text.size()) {
    const size_t length = sequence_length(text, at, bad);
    if (length == 0) {
      if (!repaired) out = text.substr(0, at);
      repaired = true;
      out += replacement_character;
      at += bad;
      continue;
    }
    if (repaired) out.append(text, at, length);
    at += length;
  }
  return repaired ? out : text;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : valid_utf8(text)) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x",
                        static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  std::ostringstream text;
  text.imbue(std::locale::classic());  // "0.25", never "0,25", whatever the global locale says
  text << std::setprecision(8) << value;
  return text.str();
}

}  // namespace atrous
