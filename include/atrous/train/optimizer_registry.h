#pragma once
// The optimizer registry: one entry per optimizer that optim.optimizer accepts, and the only place
// where an optimizer is named. The option's allowed values and help, its validation, the state a
// run keeps per parameter (stated at start-up and by `atrous describe`) derive from it.
//
// To add an optimizer: its header and source in train/ (a class deriving from train::Optimizer,
// train/optimizer.h; its options as fields of OptimizerOptions, declared and validated there) and
// one entry in optimizer_registry() (src/train/optimizer_registry.cpp). docs/extending.md shows it.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "atrous/core/options.h"
#include "atrous/train/optimizer.h"

namespace atrous::train {

struct OptimizerEntry {
  std::string name;     // the value of optim.optimizer
  std::string summary;  // one phrase for --help
  // parameters, the options, and the resolved weight decay (>= 0: the backbone's default applied)
  std::function<std::unique_ptr<Optimizer>(std::vector<OptimizedParameter>, const OptimizerOptions&, double)>
      make;
  bool uses_momentum = false;  // optim.momentum and optim.nesterov apply
};

// Every optimizer, in the order --help lists them; sgd first (the default).
const std::vector<OptimizerEntry>& optimizer_registry();

// The entry named `name`; an OptionError naming optim.optimizer and listing the names when none.
const OptimizerEntry& find_optimizer(const std::string& name);

// The names of optim.optimizer as choice values; "sgd (...), lars (...) or lamb (...)" for help.
const ChoiceValues<std::string>& optimizer_choices();
std::string optimizer_help_text();

// The optimizer optim.optimizer names, over `parameters`. Validates the options first.
std::unique_ptr<Optimizer> make_optimizer(std::vector<OptimizedParameter> parameters,
                                          const OptimizerOptions& options, double weight_decay);

// "12.3 MiB (2 float32 tensors per parameter, 1.6 M parameters)": for the start-up log and describe.
std::string optimizer_state_text(const Optimizer& optimizer);

}  // namespace atrous::train
