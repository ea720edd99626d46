#include "atrous/model/atrous_conv_path.h"

#include "atrous/model/tap_windows.h"

namespace atrous::model {

const ChoiceValues<AtrousConvPath>& atrous_conv_path_choices() {
  static const ChoiceValues<AtrousConvPath> choices{{"auto", AtrousConvPath::automatic},
                                                    {"valid_taps", AtrousConvPath::valid_taps},
                                                    {"aten", AtrousConvPath::aten}};
  return choices;
}

bool runs_valid_taps(AtrousConvPath path, const DilatedConvShape& shape) {
  if (shape.kernel == 1 || shape.stride != 1 || shape.dilation == 1) return false;
  switch (path) {
    case AtrousConvPath::valid_taps:
      return true;
    case AtrousConvPath::aten:
      return false;
    case AtrousConvPath::automatic:
      break;
  }
  if (shape.device != c10::DeviceType::CPU) return false;
  return shape.channels_last || inside_fraction(shape.height, shape.width, shape.kernel, shape.dilation) <=
                                    valid_taps_max_inside_fraction;
}

}  // namespace atrous::model
