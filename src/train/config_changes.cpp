#include "atrous/train/config_changes.h"

#include <map>

#include "atrous/core/error.h"
#include "atrous/core/ini_text.h"
#include "atrous/model/model_options.h"

namespace atrous::train {
namespace {

// Where the run is, not how it trains: a resume names train.resume auto, and a run folder may move.
bool compared(const std::string& option) {
  return option != "train.resume" && option != "train.run_dir";
}

}  // namespace

std::vector<ConfigChange> config_changes(const std::string& before, const std::string& now) {
  std::map<std::string, std::string> old_values;
  std::vector<IniEntry> new_entries;
  try {
    for (const IniEntry& entry : parse_ini(before, "in the checkpoint's configuration"))
      old_values[entry.key] = entry.value;
    new_entries = parse_ini(now, "in the effective configuration");
  } catch (const OptionError&) {
    return {};
  }
  std::vector<ConfigChange> changes;
  for (const IniEntry& entry : new_entries) {
    const auto old = old_values.find(entry.key);
    const std::string old_value = old == old_values.end() ? std::string() : old->second;
    if (old != old_values.end()) old_values.erase(old);
    if (!compared(entry.key) || old_value == entry.value) continue;
    changes.push_back({entry.key, old_value, entry.value});
  }
  for (const auto& [key, value] : old_values)
    if (compared(key)) changes.push_back({key, value, std::string()});
  return changes;
}

std::string change_text(const ConfigChange& change) {
  auto shown = [](const std::string& value) { return value.empty() ? std::string("(none)") : value; };
  return to_text(change.option, " ", shown(change.before), " -> ", shown(change.now));
}

std::string check_resume_changes(const std::vector<ConfigChange>& changes, const std::string& checkpoint) {
  std::string refused, allowed;
  for (const ConfigChange& change : changes) {
    std::string& list = model::defines_network(change.option) ? refused : allowed;
    list += (list.empty() ? "" : ", ") + change_text(change);
  }
  if (!refused.empty())
    throw UserError(to_text("checkpoint '", checkpoint, "' holds the weights of another model (", refused,
                            "); a resumed run keeps its model: give the checkpoint's values (or drop those "
                            "options), or start a new train.run_dir with --model.init_weights ",
                            checkpoint),
                    ATROUS_HERE);
  return allowed;
}

}  // namespace atrous::train
