#pragma once
// The run's identity in a checkpoint (section "run", train/checkpoint.h): the optimizer steps done and
// the effective configuration the run was started with (INI, as RUN_DIR/config.ini holds it).
//
// restore() takes the checkpoint's step (a negative one is refused: no run writes it) and compares
// the stored configuration with this start's (train/config_changes.h): a change of an option that
// defines the network is refused naming the options; every other change is logged in one warning.

#include <cstdint>
#include <string>

#include "atrous/train/checkpoint_section.h"

namespace atrous {
class Logger;
}

namespace atrous::train {

class RunIdentity final : public CheckpointSection {
 public:
  // config: this start's effective configuration.
  RunIdentity(std::string config, Logger& log) : config_(std::move(config)), log_(log) {}

  int64_t step() const { return step_; }
  void set_step(int64_t step) { step_ = step; }
  const std::string& config() const { return config_; }

  void save(SectionValues& out) const override;
  void restore(const SectionValues& values) override;

  // The configuration a checkpoint stores (for eval, infer and describe, which rebuild its model).
  static std::string stored_config(const CheckpointContents& contents);

 private:
  std::string config_;
  Logger& log_;
  int64_t step_ = 0;
};

}  // namespace atrous::train
