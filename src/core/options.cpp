#include "atrous/core/options.h"

#include <algorithm>
#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/variables_map.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "atrous/core/ini_text.h"

namespace atrous {
namespace po = boost::program_options;

std::string format_option_value(const std::string& value) {
  return value;
}
std::string format_option_value(bool value) {
  return value ? "true" : "false";
}
std::string format_option_value(int value) {
  return std::to_string(value);
}
std::string format_option_value(long value) {
  return std::to_string(value);
}

std::string format_option_value(double value) {
  char text[64];
  auto result = std::to_chars(text, text + sizeof(text), value);  // shortest exact form
  return std::string(text, result.ptr);
}

std::string choice_list_text(const std::vector<std::string>& names) {
  std::string text;
  for (size_t i = 0; i < names.size(); ++i)
    text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return text;
}

OptionTable::OptionTable() : description_("options") {
  description_.add_options()(
      "config", po::value<std::vector<std::string>>()->composing(),
      "INI file of options ([section] then name = value); may be given several times, a later file "
      "overriding an earlier one; the command line overrides them all")(
      "help,h", po::bool_switch(&help_requested_), "print the options of this command and exit");
}

const OptionTable::Entry* OptionTable::find(const std::string& name) const {
  for (const Entry& entry : entries_)
    if (entry.name == name) return &entry;
  return nullptr;
}

namespace {

std::vector<std::string> entry_names(const OptionTable& table) {
  std::vector<std::string> names;
  for (const auto& entry : table.entries()) names.push_back(entry.name);
  return names;
}

std::string strip_dashes(std::string name) {
  name.erase(0, name.find_first_not_of('-'));
  return name;
}

std::string unknown_option_message(const OptionTable& table, const std::string& raw_name,
                                   const std::string& where) {
  std::string name = strip_dashes(raw_name);
  std::string message = to_text("unknown option '", name, "' ", where);
  std::string suggestion = closest_name(name, entry_names(table));
  if (!suggestion.empty()) message += to_text(" (did you mean --", suggestion, "?)");
  return message + "; --help lists the options of this command";
}

// The message of a boost error about an option, as its what() would write it. boost's what() (1.74)
// replaces each %name% placeholder of the template until none is left, so a value or config line that
// itself holds its placeholder (--train.steps %value%) never finishes; this fills the template in one
// pass, and what the user wrote is copied, never expanded.
class BoostErrorText : public po::error_with_option_name {
 public:
  explicit BoostErrorText(const po::error_with_option_name& error) : po::error_with_option_name(error) {}

  std::string text() const {
    std::map<std::string, std::string> values(m_substitutions);
    values["canonical_option"] = get_canonical_option_name();
    values["prefix"] = get_canonical_option_prefix();
    std::string pattern = m_error_template;
    for (const auto& [name, words] : m_substitution_defaults) {  // boost's wording for a missing value
      const size_t at = values[name].empty() ? pattern.find(words.first) : std::string::npos;
      if (at != std::string::npos) pattern.replace(at, words.first.size(), words.second);
    }
    std::string text;
    for (size_t at = 0; at < pattern.size();) {
      const size_t end = pattern[at] == '%' ? pattern.find('%', at + 1) : std::string::npos;
      const auto value =
          end == std::string::npos ? values.end() : values.find(pattern.substr(at + 1, end - at - 1));
      if (value == values.end()) {
        text += pattern[at++];
      } else {
        text += value->second;
        at = end + 1;
      }
    }
    return text;
  }
};

// Boost's words, plus what the option allows and where the value came from.
OptionError translate(const po::error& error, const OptionTable& table, const std::string& where) {
  if (auto* unknown = dynamic_cast<const po::unknown_option*>(&error))
    return OptionError(unknown_option_message(table, unknown->get_option_name(), where), ATROUS_HERE);
  auto* with_name = dynamic_cast<const po::error_with_option_name*>(&error);
  std::string message =
      to_text(with_name ? BoostErrorText(*with_name).text() : error.what(), " (", where, ")");
  if (with_name != nullptr) {
    const OptionTable::Entry* entry = table.find(strip_dashes(with_name->get_option_name()));
    if (entry != nullptr && !entry->allowed.empty()) message += "; allowed: " + entry->allowed;
  }
  return OptionError(message, ATROUS_HERE);
}

po::parsed_options parse_command_line(const OptionTable& table, const po::options_description& description,
                                      const std::vector<std::string>& args) {
  // No guessing from prefixes: --dist.thr must not silently mean --dist.threads.
  const int style = po::command_line_style::allow_long | po::command_line_style::long_allow_adjacent |
                    po::command_line_style::long_allow_next | po::command_line_style::allow_short |
                    po::command_line_style::short_allow_next | po::command_line_style::allow_dash_for_short;
  po::parsed_options parsed(&description);
  try {
    parsed = po::command_line_parser(args).options(description).style(style).run();
  } catch (const po::error& error) {
    throw translate(error, table, "on the command line");
  }
  // Words that are not options (boost keeps them as positional) are mistakes here.
  for (const std::string& word : po::collect_unrecognized(parsed.options, po::include_positional))
    throw OptionError(to_text("unexpected argument '", word,
                              "' on the command line: options are written --section.name VALUE"),
                      ATROUS_HERE);
  return parsed;
}

std::string config_file_origin(const std::string& path) {
  return to_text("config file '", path, "'");
}

po::parsed_options parse_config_file(const OptionTable& table, const po::options_description& description,
                                     const std::string& path, const std::set<std::string>& known_elsewhere) {
  std::error_code ignored;
  if (std::filesystem::exists(path, ignored) && !std::filesystem::is_regular_file(path, ignored))
    throw OptionError(
        to_text("config file '", path, "' (from --config) is not a file; give the path of an INI file"),
        ATROUS_HERE);
  std::ifstream file(path);
  if (!file)
    throw OptionError(to_text("config file '", path,
                              "' (from --config) cannot be read: ", std::strerror(errno), "; check the path"),
                      ATROUS_HERE);
  const std::string where = "in " + config_file_origin(path);
  // Editors on some systems start UTF-8 files with a byte-order mark; it is not part of the first line.
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  po::parsed_options parsed(&description);
  for (const IniEntry& entry : parse_ini(text, where)) {
    po::option option(entry.key, {entry.value});
    option.original_tokens = {entry.key, entry.value};
    option.unregistered = description.find_nothrow(entry.key, /*approx=*/false) == nullptr;
    parsed.options.push_back(std::move(option));
  }
  for (const po::option& option : parsed.options) {
    if (!option.unregistered || known_elsewhere.count(option.string_key)) continue;
    throw OptionError(unknown_option_message(table, option.string_key, where), ATROUS_HERE);
  }
  // Keep only what this command declares; boost would otherwise reject the foreign keys on store.
  auto foreign = [](const po::option& option) { return option.unregistered; };
  parsed.options.erase(std::remove_if(parsed.options.begin(), parsed.options.end(), foreign),
                       parsed.options.end());
  return parsed;
}

// The layer's entries that the table declares, as options to store; `--config` is never one.
po::parsed_options parse_layer(const po::options_description& description, const OptionLayer& layer) {
  po::parsed_options parsed(&description);
  for (const IniEntry& entry : layer.entries) {
    if (entry.key == "config" || description.find_nothrow(entry.key, /*approx=*/false) == nullptr) continue;
    po::option option(entry.key, {entry.value});
    option.original_tokens = {entry.key, entry.value};
    parsed.options.push_back(std::move(option));
  }
  return parsed;
}

std::set<std::string> keys_of(const po::parsed_options& parsed) {
  std::set<std::string> keys;
  for (const po::option& option : parsed.options) keys.insert(option.string_key);
  return keys;
}

void store_checked(const po::parsed_options& parsed, po::variables_map& values, const OptionTable& table,
                   const std::string& where) {
  try {
    po::store(parsed, values);
  } catch (const po::error& error) {
    throw translate(error, table, where);
  }
}

// A choice's value is checked here, where it is still known whether it came from the command line or
// from the file, so the error can say which.
void check_choices(const OptionTable& table, const po::variables_map& values,
                   const std::map<std::string, std::string>& origins) {
  for (const OptionTable::Entry& entry : table.entries()) {
    if (entry.choices.empty() || !values.count(entry.name) || values[entry.name].defaulted()) continue;
    const std::string text = values[entry.name].as<std::string>();
    if (std::find(entry.choices.begin(), entry.choices.end(), text) != entry.choices.end()) continue;
    const auto origin = origins.find(entry.name);
    const std::string where = origin == origins.end() ? "as given" : origin->second;
    throw OptionError(to_text("option --", entry.name, " = ", text,
                              " is not allowed; allowed: ", entry.allowed, " (", where, ")"),
                      ATROUS_HERE);
  }
}

// Each entry's source and origin from `origins` ("on the command line", "in config file 'x'",
// "from checkpoint 'y'"), and the inherited layer's text where it had one.
void record_sources(std::vector<OptionTable::Entry>& entries,
                    const std::map<std::string, std::string>& origins,
                    const std::map<std::string, std::string>& inherited_texts) {
  for (OptionTable::Entry& entry : entries) {
    const auto origin = origins.find(entry.name);
    const std::string where = origin == origins.end() ? std::string() : origin->second;
    entry.source = where.empty()                      ? OptionSource::default_value
                   : where.rfind("on the ", 0) == 0   ? OptionSource::command_line
                   : where.rfind("in config", 0) == 0 ? OptionSource::config_file
                                                      : OptionSource::inherited;
    entry.origin = where.empty() ? "default" : where.substr(where.find(' ') + 1);
    if (entry.source == OptionSource::command_line) entry.origin = "command line";
    const auto inherited = inherited_texts.find(entry.name);
    entry.inherited_text = inherited == inherited_texts.end() ? std::optional<std::string>()
                                                              : std::optional<std::string>(inherited->second);
  }
}

// An origin as a comment: one line, whatever a file name holds.
std::string comment_text(std::string origin) {
  for (char& c : origin)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return origin;
}

}  // namespace

void parse_options(OptionTable& table, const std::vector<std::string>& args,
                   const std::set<std::string>& known_elsewhere, const OptionLayer* inherited) {
  po::variables_map values;
  // store() keeps a value already stored, so the layers are stored from the highest down.
  std::map<std::string, std::string> origins;  // option -> where its value came from
  po::parsed_options from_command_line = parse_command_line(table, table.description_, args);
  store_checked(from_command_line, values, table, "on the command line");
  for (const std::string& key : keys_of(from_command_line)) origins.emplace(key, "on the command line");

  table.config_files_ =
      values.count("config") ? values["config"].as<std::vector<std::string>>() : std::vector<std::string>();
  for (auto path = table.config_files_.rbegin(); path != table.config_files_.rend(); ++path) {
    po::parsed_options parsed = parse_config_file(table, table.description_, *path, known_elsewhere);
    store_checked(parsed, values, table, "in " + config_file_origin(*path));
    for (const std::string& key : keys_of(parsed)) origins.emplace(key, "in " + config_file_origin(*path));
  }
  std::map<std::string, std::string> inherited_texts;
  table.inherited_origin_ = inherited ? inherited->origin : std::string();
  if (inherited) {
    po::parsed_options parsed = parse_layer(table.description_, *inherited);
    store_checked(parsed, values, table, "from " + inherited->origin);
    for (const po::option& option : parsed.options) {
      inherited_texts[option.string_key] = option.value.front();
      origins.emplace(option.string_key, "from " + inherited->origin);
    }
  }
  check_choices(table, values, origins);
  try {
    po::notify(values);
  } catch (const po::error& error) {
    throw translate(error, table, "while applying options");
  }
  record_sources(table.entries_, origins, inherited_texts);
}

std::vector<std::string> overridden_inherited_options(const OptionTable& table) {
  std::vector<std::string> lines;
  for (const OptionTable::Entry& entry : table.entries()) {
    if (!entry.inherited_text || entry.source == OptionSource::inherited) continue;
    if (entry.current_text() == *entry.inherited_text) continue;
    lines.push_back(to_text(entry.name, " = ", entry.current_text(), " (", entry.origin, ") where ",
                            table.inherited_origin(), " has ", *entry.inherited_text));
  }
  return lines;
}

std::string effective_config(const OptionTable& table, bool only_given) {
  std::map<std::string, std::vector<const OptionTable::Entry*>> sections;
  for (const auto& entry : table.entries()) {
    if (only_given && entry.source == OptionSource::default_value) continue;
    auto dot = entry.name.find('.');
    sections[entry.name.substr(0, dot)].push_back(&entry);
  }
  std::ostringstream out;
  for (const auto& [section, entries] : sections) {
    out << '[' << section << "]\n";
    for (const auto* entry : entries) {
      out << entry->name.substr(section.size() + 1) << " = " << ini_value(entry->current_text()) << "  # "
          << comment_text(entry->origin) << '\n';
    }
  }
  return out.str();
}

std::string options_help(const OptionTable& table) {
  std::ostringstream out;
  out << "  --config FILE\n"
         "      INI file of options ([section] then name = value); may be given several times, a\n"
         "      later file overriding an earlier one; the command line overrides them all\n"
         "  --help, -h\n"
         "      print these options and exit\n";
  for (const auto& entry : table.entries()) {
    out << "  --" << entry.name << ' ' << entry.value_kind << "\n      " << entry.help
        << "\n      default: " << (entry.default_text.empty() ? "(empty)" : entry.default_text);
    if (!entry.allowed.empty()) out << "; allowed: " << entry.allowed;
    out << '\n';
  }
  return out.str();
}

std::string closest_name(const std::string& name, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
        diagonal = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitution});
      }
    }
    return row[b.size()];
  };
  std::string best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    size_t d = distance(name, candidate);
    if (d < best_distance) best = candidate, best_distance = d;
  }
  return best;
}

std::vector<double> parse_positive_numbers(const std::string& name, const std::string& text,
                                           const std::string& allowed, double max) {
  std::vector<double> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    char* end = nullptr;
    const double value = std::strtod(item.c_str(), &end);
    // Decimal only: strtod would also take hexadecimal ("0x10") and words ("inf").
    if (item.empty() || item.find_first_not_of("0123456789.eE+- ") != std::string::npos ||
        end != item.c_str() + item.size() || !(value > 0 && value <= max))
      bad_option(name, text, allowed, ATROUS_HERE);
    values.push_back(value);
  }
  if (values.empty() || text.back() == ',') bad_option(name, text, allowed, ATROUS_HERE);  // "6,12,"
  return values;
}

}  // namespace atrous
