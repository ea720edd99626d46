// Compiled as part of the model layer (tests/CMakeLists.txt, style.layer_order): it includes a
// header of the eval layer, which comes after model, so the build must refuse it. The test passes
// when the compiler reports that header as missing from the model layer's include view.
#include "atrous/model/deeplab.h"
#include "atrous/eval/predictor.h"
