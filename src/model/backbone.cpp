#include "atrous/model/backbone.h"

#include "atrous/core/error.h"
#include "atrous/model/mobilenet_v2.h"
#include "atrous/model/resnet.h"
#include "atrous/model/xception65.h"

namespace atrous::model {

const std::vector<std::string>& backbone_names() {
  static const std::vector<std::string> names{"resnet50", "resnet101", "mobilenet_v2", "xception65"};
  return names;
}

std::shared_ptr<BackboneImpl> make_backbone(const BackboneSpec& spec) {
  if (spec.name == "resnet50" || spec.name == "resnet101") return std::make_shared<ResNetImpl>(spec);
  if (spec.name == "mobilenet_v2") return std::make_shared<MobileNetV2Impl>(spec);
  if (spec.name == "xception65") return std::make_shared<Xception65Impl>(spec);
  throw InternalError(to_text("no backbone named '", spec.name, "'"), ATROUS_HERE);
}

}  // namespace atrous::model
