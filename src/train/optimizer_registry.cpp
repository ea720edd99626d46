#include "atrous/train/optimizer_registry.h"

#include <iomanip>
#include <sstream>

#include "atrous/train/lamb.h"
#include "atrous/train/lars.h"
#include "atrous/train/sgd_momentum.h"

namespace atrous::train {
namespace {

template <class Concrete>
std::unique_ptr<Optimizer> make(std::vector<OptimizedParameter> parameters, const OptimizerOptions& options,
                                double weight_decay) {
  return std::make_unique<Concrete>(std::move(parameters), options, weight_decay);
}

std::vector<OptimizerEntry> registered_optimizers() {
  return {
      // name, summary, make, uses_momentum
      {"sgd", "momentum SGD as TF DeepLab", make<SgdMomentum>, true},
      {"lars", "momentum SGD with a layer-wise trust ratio, You et al. 2017", make<Lars>, true},
      {"lamb", "Adam moments with a layer-wise trust ratio, You et al. 2019", make<Lamb>, false},
  };
}

}  // namespace

const std::vector<OptimizerEntry>& optimizer_registry() {
  static const std::vector<OptimizerEntry> registry = registered_optimizers();
  return registry;
}

const ChoiceValues<std::string>& optimizer_choices() {
  static const ChoiceValues<std::string> choices = [] {
    ChoiceValues<std::string> values;
    for (const OptimizerEntry& entry : optimizer_registry()) values.emplace_back(entry.name, entry.name);
    return values;
  }();
  return choices;
}

std::string optimizer_help_text() {
  std::vector<std::string> parts;
  for (const OptimizerEntry& entry : optimizer_registry()) parts.push_back(entry.name + " (" + entry.summary + ")");
  return choice_list_text(parts);
}

const OptimizerEntry& find_optimizer(const std::string& name) {
  for (const OptimizerEntry& entry : optimizer_registry())
    if (entry.name == name) return entry;
  bad_option("optim.optimizer", name, choice_list_text(choice_names(optimizer_choices())), ATROUS_HERE);
}

std::unique_ptr<Optimizer> make_optimizer(std::vector<OptimizedParameter> parameters,
                                          const OptimizerOptions& options, double weight_decay) {
  options.validate();
  return find_optimizer(options.optimizer).make(std::move(parameters), options, weight_decay);
}

std::string optimizer_state_text(const Optimizer& optimizer) {
  int64_t elements = 0;
  for (const OptimizedParameter& parameter : optimizer.parameters()) elements += parameter.tensor.numel();
  std::string slot_names;
  for (const std::string& slot : optimizer.slots()) slot_names += (slot_names.empty() ? "" : ", ") + slot;
  std::ostringstream text;
  text << std::fixed << std::setprecision(1) << double(optimizer.state_bytes()) / (1024.0 * 1024.0) << " MiB ("
       << optimizer.slots().size() << " tensor" << (optimizer.slots().size() == 1 ? "" : "s")
       << " per parameter: " << slot_names << "; " << std::setprecision(2)
       << double(elements) / 1e6 << " M parameters)";
  return text.str();
}

}  // namespace atrous::train
