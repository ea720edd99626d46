#pragma once
// What a resumed run changes: the options whose values differ between the effective configuration
// stored in the checkpoint it resumes from and the one it runs with now.
//
// config_changes(before, now): both are INI texts as effective_config() writes them (source comments
// are not values); one ConfigChange per option whose value differs, in the order of `now`, an option
// present in only one of them included (its missing side ""). train.resume and train.run_dir are
// never one: a run that resumes says so whatever it said before, and a run folder may be moved. An INI text that does not parse (a checkpoint of an older
// format) gives no changes.
//
// The trainer refuses to resume when a change is not one it can honour: an option that defines the
// network (model::defines_network; the checkpoint's weights belong to its model), named with both
// values; it warns with every other change (a longer schedule, another learning rate, more
// checkpoints) and RUN_DIR/configs/ keeps what each segment ran with (train/run_directory.h).

#include <string>
#include <vector>

namespace atrous::train {

struct ConfigChange {
  std::string option;  // section.name
  std::string before;  // the checkpoint's value, "" when it had none
  std::string now;     // "" when this configuration has none
};

std::vector<ConfigChange> config_changes(const std::string& before, const std::string& now);

// "optim.learning_rate 0.05 -> 0.01": a change as the log names it.
std::string change_text(const ConfigChange& change);

// The rule above: a UserError naming `checkpoint` and every network option that changed; otherwise
// the other changes as the log lists them ("optim.learning_rate 0.05 -> 0.01, train.steps 30 -> 40"),
// "" when there are none.
std::string check_resume_changes(const std::vector<ConfigChange>& changes, const std::string& checkpoint);

}  // namespace atrous::train
