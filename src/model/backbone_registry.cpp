#include "atrous/model/backbone_registry.h"

#include "atrous/model/mobilenet_v2.h"
#include "atrous/model/resnet.h"
#include "atrous/model/xception65.h"

namespace atrous::model {
namespace {

// TF DeepLab's weight decay: 1e-4 for ResNets, 4e-5 for MobileNet and Xception.
std::vector<BackboneEntry> registered_backbones() {
  return {
      // name, make, default_weight_decay, supports_multi_grid, has_aux_features, low_level_feature
      {"resnet50", [](const BackboneSpec& spec) { return std::make_shared<ResNetImpl>(spec, 50); }, 1e-4,
       true, true, "layer1 (256 channels)"},
      {"resnet101", [](const BackboneSpec& spec) { return std::make_shared<ResNetImpl>(spec, 101); }, 1e-4,
       true, true, "layer1 (256 channels)"},
      {"mobilenet_v2", [](const BackboneSpec& spec) { return std::make_shared<MobileNetV2Impl>(spec); }, 4e-5,
       false, false, "features.3 (24 channels)"},
      {"xception65", [](const BackboneSpec& spec) { return std::make_shared<Xception65Impl>(spec); }, 4e-5,
       true, false, "entry_block2's second separable conv (256 channels)"},
  };
}

}  // namespace

const std::vector<BackboneEntry>& backbone_registry() {
  static const std::vector<BackboneEntry> registry = registered_backbones();
  return registry;
}

const ChoiceValues<std::string>& backbone_choices() {
  static const ChoiceValues<std::string> choices = [] {
    ChoiceValues<std::string> values;
    for (const BackboneEntry& entry : backbone_registry()) values.emplace_back(entry.name, entry.name);
    return values;
  }();
  return choices;
}

const BackboneEntry& find_backbone(const std::string& name) {
  for (const BackboneEntry& entry : backbone_registry())
    if (entry.name == name) return entry;
  bad_option("model.backbone", name, choice_list_text(choice_names(backbone_choices())), ATROUS_HERE);
}

std::string backbone_names_where(const std::function<bool(const BackboneEntry&)>& selected) {
  std::vector<std::string> names;
  for (const BackboneEntry& entry : backbone_registry())
    if (selected(entry)) names.push_back(entry.name);
  return choice_list_text(names);
}

}  // namespace atrous::model
