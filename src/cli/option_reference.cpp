#include "atrous/cli/option_reference.h"

#include <map>
#include <set>

namespace atrous::cli {
namespace {

// Text for a markdown table cell: '|' escaped, line breaks as blanks.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out.empty() ? "(empty)" : out;
}

struct Row {
  const OptionTable::Entry* entry = nullptr;
  std::vector<std::string> commands;
};

std::string commands_text(const std::vector<std::string>& takers, size_t command_count) {
  if (takers.size() == command_count) return "every command";
  std::string text;
  for (const std::string& command : takers) text += (text.empty() ? "" : ", ") + command;
  return text;
}

}  // namespace

std::string option_reference(const std::vector<CommandOptions>& commands) {
  std::map<std::string, std::vector<Row>> sections;             // section -> rows in declaration order
  std::map<std::string, std::pair<std::string, size_t>> where;  // option -> (section, row index)
  for (const CommandOptions& command : commands)
    for (const OptionTable::Entry& entry : command.options) {
      const auto found = where.find(entry.name);
      if (found != where.end()) {
        sections[found->second.first][found->second.second].commands.push_back(command.command);
        continue;
      }
      const std::string section = entry.name.substr(0, entry.name.find('.'));
      where[entry.name] = {section, sections[section].size()};
      sections[section].push_back({&entry, {command.command}});
    }
  std::string text =
      "# Options\n\n"
      "Every option of every command, generated from the options' declarations by `atrous help options`\n"
      "(the test `style.option_reference` fails when this page and the code differ: regenerate it with\n"
      "`build/src/atrous help options > docs/options.md`). `atrous <command> --help` prints the same for\n"
      "one command. Options are written `--section.name VALUE` on the command line or `name = value`\n"
      "under `[section]` in a `--config` file; [usage.md](usage.md) says how they combine.\n";
  for (const auto& [section, rows] : sections) {
    text += "\n## " + section +
            "\n\n| option | default | allowed | commands | meaning |\n|---|---|---|---|---|\n";
    for (const Row& row : rows)
      text += "| `" + row.entry->name + "` | " + cell(row.entry->default_text) + " | " +
              cell(row.entry->allowed) + " | " + commands_text(row.commands, commands.size()) + " | " +
              cell(row.entry->help) + " |\n";
  }
  return text;
}

}  // namespace atrous::cli
