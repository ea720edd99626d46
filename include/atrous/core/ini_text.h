#pragma once
// The INI text of --config files and RUN_DIR/config.ini, read and written so that every value an
// option can hold reads back as it was written.
//
// A line is blank, a comment ("# ..."), a section ("[train]") or "name = value". Names and unquoted
// values are trimmed, and an unquoted value ends at the first '#' (what follows is a comment), as in
// boost's config files. A value that starts with '"' is quoted: it ends at the next unescaped '"',
// and \" \\ \n \r \t inside stand for those characters; only blanks or a comment may follow it.
// parse_ini() gives each "name = value" as section.name (just name before any section) with its
// 1-based line; a line of no such form, an unterminated quote or an unknown escape is an OptionError
// naming the line and `where` ("in config file 'x.ini'").
// ini_value(v) is the text to write after "name = ": v itself where that reads back as v, else v quoted.

#include <string>
#include <vector>

namespace atrous {

struct IniEntry {
  std::string key;  // section.name
  std::string value;
  int line = 0;
};

std::vector<IniEntry> parse_ini(const std::string& text, const std::string& where);
std::string ini_value(const std::string& value);

}  // namespace atrous
