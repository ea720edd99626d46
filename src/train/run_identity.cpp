#include "atrous/train/run_identity.h"

#include "atrous/core/error.h"
#include "atrous/core/log.h"
#include "atrous/train/config_changes.h"

namespace atrous::train {

void RunIdentity::save(SectionValues& out) const {
  out.set("step", step_);
  out.set("config", config_);
}

void RunIdentity::restore(const SectionValues& values) {
  const int64_t step = values.integer("step");
  if (step < 0)
    throw UserError(to_text("'", values.file(), "' is not an atrous checkpoint this build reads: step ", step,
                            " is not a training position (>= 0)"),
                    ATROUS_HERE);
  if (const std::string changed =
          check_resume_changes(config_changes(values.text("config"), config_), values.file());
      !changed.empty())
    log_.warn("resuming with options changed since ", values.file(), " was written: ", changed,
              " (RUN_DIR/configs/ keeps what each segment ran with)");
  step_ = step;
}

std::string RunIdentity::stored_config(const CheckpointContents& contents) {
  return contents.section("run").text("config");
}

}  // namespace atrous::train
