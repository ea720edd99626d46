#include "atrous/model/backbone.h"

namespace atrous::model {

const ChoiceValues<ResNetStem>& resnet_stem_choices() {
  static const ChoiceValues<ResNetStem> choices{{"torchvision", ResNetStem::torchvision},
                                                {"beta", ResNetStem::beta}};
  return choices;
}

}  // namespace atrous::model
