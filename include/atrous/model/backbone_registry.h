#pragma once
// The backbone registry: one entry per backbone that model.backbone accepts, and the only place
// where a backbone is named. The option's allowed values and help, its validation, which backbones
// take model.multi_grid and model.aux_head, and the default weight decay all derive from it.
//
// To add a backbone: its header and source in model/ (an XImpl deriving from BackboneImpl,
// model/backbone.h) and one entry in backbone_registry().

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "atrous/core/options.h"
#include "atrous/model/backbone.h"

namespace atrous::model {

struct BackboneEntry {
  std::string name;  // the value of model.backbone
  std::function<std::shared_ptr<BackboneImpl>(const BackboneSpec&)> make;
  double default_weight_decay = 0;   // TF DeepLab's L2 weight decay, when optim.weight_decay is < 0
  bool supports_multi_grid = false;  // model.multi_grid applies to its last block's units
  bool has_aux_features = false;     // BackboneFeatures::aux is defined, so model.aux_head can use it
  std::string low_level_feature;     // documentation: the layer that feeds the DeepLabV3+ decoder
};

// Every backbone, in the order --help lists them.
const std::vector<BackboneEntry>& backbone_registry();

// The entry named `name`; an OptionError naming model.backbone and listing the registered names
// when there is none.
const BackboneEntry& find_backbone(const std::string& name);

// The names of model.backbone as choice values (each name is its own value).
const ChoiceValues<std::string>& backbone_choices();

// "resnet50 or resnet101": the names of the entries for which `selected` holds, for allowed texts.
std::string backbone_names_where(const std::function<bool(const BackboneEntry&)>& selected);

}  // namespace atrous::model
