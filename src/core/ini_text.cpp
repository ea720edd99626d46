#include "atrous/core/ini_text.h"

#include <sstream>

#include "atrous/core/error.h"

namespace atrous {
namespace {

constexpr const char* blanks = " \t\r";

std::string trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(blanks);
  if (first == std::string::npos) return std::string();
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

[[noreturn]] void bad_line(const std::string& line, int number, const std::string& where,
                           const std::string& why) {
  throw OptionError(to_text("invalid line '", line, "' (line ", number, ") ", where, ": ", why), ATROUS_HERE);
}

// The quoted value that starts at rest[0] == '"', and whatever may follow it on the line.
std::string unquoted(const std::string& rest, const std::string& line, int number, const std::string& where) {
  std::string value;
  size_t at = 1;
  for (; at < rest.size() && rest[at] != '"'; ++at) {
    if (rest[at] != '\\') {
      value += rest[at];
      continue;
    }
    const char escaped = ++at < rest.size() ? rest[at] : '\0';
    switch (escaped) {
      case '"':
      case '\\':
        value += escaped;
        break;
      case 'n':
        value += '\n';
        break;
      case 'r':
        value += '\r';
        break;
      case 't':
        value += '\t';
        break;
      default:
        bad_line(line, number, where, "a quoted value knows only the escapes \\\" \\\\ \\n \\r \\t");
    }
  }
  if (at >= rest.size()) bad_line(line, number, where, "the quoted value has no closing '\"'");
  const std::string after = trimmed(rest.substr(at + 1));
  if (!after.empty() && after[0] != '#')
    bad_line(line, number, where, "only a comment ('# ...') may follow a quoted value");
  return value;
}

}  // namespace

std::vector<IniEntry> parse_ini(const std::string& text, const std::string& where) {
  std::vector<IniEntry> entries;
  std::istringstream lines(text);
  std::string raw, section;
  for (int number = 1; std::getline(lines, raw); ++number) {
    const std::string line = trimmed(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      const size_t close = line.find(']');
      const std::string after = close == std::string::npos ? std::string() : trimmed(line.substr(close + 1));
      if (close == std::string::npos || (!after.empty() && after[0] != '#'))
        bad_line(line, number, where, "a section is written [name]");
      section = trimmed(line.substr(1, close - 1));
      continue;
    }
    const size_t equals = line.find('=');
    const std::string name = equals == std::string::npos ? std::string() : trimmed(line.substr(0, equals));
    if (name.empty() || name.find('#') != std::string::npos)
      bad_line(line, number, where, "lines are [section], name = value, or a comment");
    const std::string rest = trimmed(line.substr(equals + 1));
    const std::string value = !rest.empty() && rest[0] == '"' ? unquoted(rest, line, number, where)
                                                              : trimmed(rest.substr(0, rest.find('#')));
    entries.push_back({section.empty() ? name : section + "." + name, value, number});
  }
  return entries;
}

std::string ini_value(const std::string& value) {
  const bool plain = value.find_first_of("#\n\r") == std::string::npos && trimmed(value) == value &&
                     (value.empty() || value[0] != '"');
  if (plain) return value;
  std::string quoted = "\"";
  for (const char c : value) {
    switch (c) {
      case '"':
        quoted += "\\\"";
        break;
      case '\\':
        quoted += "\\\\";
        break;
      case '\n':
        quoted += "\\n";
        break;
      case '\r':
        quoted += "\\r";
        break;
      case '\t':
        quoted += "\\t";
        break;
      default:
        quoted += c;
    }
  }
  return quoted + '"';
}

}  // namespace atrous
