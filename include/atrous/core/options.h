#pragma once
// Options named `section.name`, from an INI config file and the command line.
//
// Every component keeps its options in a struct (LogOptions, WorldOptions, ...) whose static
// declare(OptionTable&, Struct&) binds each field to its name, default, help text and a short text of
// what is allowed. The component validates the values in its own constructor and reports a bad one
// with bad_option(), which names the option, the value and what is allowed.
//
// A closed set of values (model.merge_method: max or mean) is a choice: add_choice() binds an enum
// (or any comparable type) to its names once, and help, the allowed text, validation while parsing
// and the name written back to config.ini all derive from that one list.
//
// parse_options() reads the command line and the files given with --config FILE: `[train]`
// followed by `batch_size = 8` sets train.batch_size, exactly as `--train.batch_size 8` would.
// Precedence, highest first: the command line; the --config files, a later one over an earlier one
// (a base file, then an experiment's few changes); an inherited layer (OptionLayer: the model options
// a checkpoint was trained with, for eval and infer); the defaults. Option names are never guessed
// from prefixes. Unknown options, malformed values and unreadable files are OptionErrors (the
// process ends with status 2) that say what went wrong, where, and what is allowed.

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/value_semantic.hpp>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/core/ini_text.h"

namespace atrous {

enum class OptionSource { default_value, inherited, config_file, command_line };

// Values below the config files and above the defaults, from somewhere other than the user's words:
// `origin` names it for the effective configuration's comments and for errors ("checkpoint 'x.pt'").
// Entries the table does not declare are ignored (the layer may hold another command's options).
struct OptionLayer {
  std::string origin;
  std::vector<IniEntry> entries;
};

// The named values of a choice option, in the order --help lists them.
template <class T>
using ChoiceValues = std::vector<std::pair<std::string, T>>;

// "max or mean", "a, b or c": the allowed text of a choice.
std::string choice_list_text(const std::vector<std::string>& names);

template <class T>
std::vector<std::string> choice_names(const ChoiceValues<T>& values) {
  std::vector<std::string> names;
  for (const auto& value : values) names.push_back(value.first);
  return names;
}

// The name of `value` in `values`; an InternalError for a value the list does not hold.
template <class T>
const std::string& choice_name(const ChoiceValues<T>& values, const T& value) {
  for (const auto& entry : values)
    if (entry.second == value) return entry.first;
  throw InternalError("a choice value without a name", ATROUS_HERE);
}

// The value named `name`; bad_option(option, name, allowed) when no value has that name.
template <class T>
T parse_choice(const std::string& option, const ChoiceValues<T>& values, const std::string& name);

// The textual form of an option value, as the config file and --help show it.
std::string format_option_value(const std::string& value);
std::string format_option_value(bool value);
std::string format_option_value(int value);
std::string format_option_value(long value);
std::string format_option_value(double value);

class OptionTable {
 public:
  struct Entry {
    std::string name;        // "dist.threads"
    std::string value_kind;  // placeholder shown by --help: INT, FLOAT, TEXT, BOOL
    std::string help;
    std::string allowed;  // "an integer >= 0"
    std::string default_text;
    std::function<std::string()> current_text;  // the bound field, formatted
    OptionSource source = OptionSource::default_value;
    std::vector<std::string> choices;  // a choice option's names; empty for other options
    // Where the value came from, as config.ini's comment says it: "default", "command line",
    // "config file 'base.ini'", or the inherited layer's origin.
    std::string origin = "default";
    // The inherited layer's text for this option, also when a config file or the command line
    // overrode it (overridden_inherited_options() reports those); empty when the layer has none.
    std::optional<std::string> inherited_text;
  };

  OptionTable();
  OptionTable(const OptionTable&) = delete;
  OptionTable& operator=(const OptionTable&) = delete;

  // Binds `*target` to option `name` ("section.name"). The target must outlive the table.
  template <class T>
  void add(const std::string& name, T* target, const T& default_value, const std::string& help,
           const std::string& allowed) {
    namespace po = boost::program_options;
    auto* semantic = po::value<T>(target)->default_value(default_value, format_option_value(default_value));
    if constexpr (std::is_same_v<T, bool>) semantic->implicit_value(true, "true");
    description_.add_options()(name.c_str(), semantic, help.c_str());
    entries_.push_back(Entry{name,
                             value_kind<T>(),
                             help,
                             allowed,
                             format_option_value(default_value),
                             [target] { return format_option_value(*target); },
                             OptionSource::default_value,
                             {},
                             "default",
                             {}});
  }

  // Binds `*target` to choice option `name`: exactly one of `values`' names is accepted, and help
  // lists them all. The values must hold `default_value`.
  template <class T>
  void add_choice(const std::string& name, T* target, const T& default_value, const std::string& help,
                  ChoiceValues<T> values) {
    namespace po = boost::program_options;
    const std::string default_name = choice_name(values, default_value);
    *target = default_value;
    auto* semantic = po::value<std::string>()
                         ->default_value(default_name)
                         ->notifier([name, target, values](const std::string& text) {
                           *target = parse_choice(name, values, text);
                         });
    description_.add_options()(name.c_str(), semantic, help.c_str());
    entries_.push_back(Entry{name,
                             "CHOICE",
                             help,
                             choice_list_text(choice_names(values)),
                             default_name,
                             [target, values] { return choice_name(values, *target); },
                             OptionSource::default_value,
                             choice_names(values),
                             "default",
                             {}});
  }

  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(const std::string& name) const;
  // The paths given with --config, in the order given; empty when none.
  const std::vector<std::string>& config_files() const { return config_files_; }
  bool help_requested() const { return help_requested_; }
  // The origin of the inherited layer of the last parse, empty when there was none.
  const std::string& inherited_origin() const { return inherited_origin_; }

 private:
  friend void parse_options(OptionTable&, const std::vector<std::string>&, const std::set<std::string>&,
                            const OptionLayer*);

  template <class T>
  static const char* value_kind() {
    if constexpr (std::is_same_v<T, bool>)
      return "BOOL";
    else if constexpr (std::is_integral_v<T>)
      return "INT";
    else if constexpr (std::is_floating_point_v<T>)
      return "FLOAT";
    else
      return "TEXT";
  }

  boost::program_options::options_description description_;
  std::vector<Entry> entries_;
  std::vector<std::string> config_files_;
  std::string inherited_origin_;
  bool help_requested_ = false;
};

// Parses `args` (the words after the command name) into the table's targets and records where each
// value came from. `known_elsewhere`: options that other commands declare. A config file may hold
// them, since one file usually serves train, eval and describe; they are ignored here. `inherited`:
// the layer below the config files, or null. Every bound field is set again, so a table may be parsed
// a second time with a layer that the first parse pointed to. Throws OptionError.
void parse_options(OptionTable& table, const std::vector<std::string>& args,
                   const std::set<std::string>& known_elsewhere = {}, const OptionLayer* inherited = nullptr);

// The options whose inherited value a config file or the command line replaced with another one, one
// line each ("model.output_stride = 8 (command line) where checkpoint 'x.pt' has 16"); empty when
// none. The caller warns with them: a model option changed under a checkpoint seldom fits its weights.
std::vector<std::string> overridden_inherited_options(const OptionTable& table);

// The values in effect as an INI file that --config accepts; each value notes where it came from.
// only_given: just the options not at their default (what the start line shows at log.level info).
std::string effective_config(const OptionTable& table, bool only_given = false);

// One block per option for --help: name, kind, help, default and what is allowed.
std::string options_help(const OptionTable& table);

// The closest name among `candidates` to a mistyped `name`, or "" when none is close.
std::string closest_name(const std::string& name, const std::vector<std::string>& candidates);

// Comma-separated numbers in (0, max] ("0.5,1,1.5"); bad_option(name, text, allowed) for anything
// else, an empty list included.
std::vector<double> parse_positive_numbers(const std::string& name, const std::string& text,
                                           const std::string& allowed, double max);

// Throws the OptionError for a value its consumer rejects:
// "option --dist.threads = -3 is not allowed; allowed: an integer from 0 to 1024".
template <class T>
[[noreturn]] void bad_option(const std::string& name, const T& value, const std::string& allowed,
                             SourceLocation where) {
  throw OptionError(
      to_text("option --", name, " = ", format_option_value(value), " is not allowed; allowed: ", allowed),
      where);
}

template <class T>
T parse_choice(const std::string& option, const ChoiceValues<T>& values, const std::string& name) {
  for (const auto& entry : values)
    if (entry.first == name) return entry.second;
  bad_option(option, name, choice_list_text(choice_names(values)), ATROUS_HERE);
}

}  // namespace atrous

// Rejects the value of option `name` unless cond holds.
#define ATROUS_CHECK_OPTION(cond, name, value, allowed)                         \
  do {                                                                          \
    if (!(cond)) ::atrous::bad_option((name), (value), (allowed), ATROUS_HERE); \
  } while (false)
