#pragma once
// ModelOptions: the `model.*` options that choose and shape a DeepLab, declared for every command
// that builds one (train, eval, infer, describe). Closed sets of values are choices (core/options.h):
// parsing rejects anything else, naming the option and the allowed names. DeepLabImpl validates the
// rest when it is built (model.backbone against model/backbone_registry.h too, since tests and tools
// fill ModelOptions directly) and names the offending option.

#include <string>
#include <vector>

#include "atrous/core/options.h"
#include "atrous/model/atrous_conv_path.h"
#include "atrous/model/backbone.h"
#include "atrous/model/memory_format.h"
#include "atrous/model/multi_scale.h"

namespace atrous::model {

// model.head: TF DeepLab's ASPP + decoder, or torchvision's DeepLabV3 head and names (model/deeplab.h).
enum class DeepLabHead { deeplabv3plus, deeplabv3 };
const ChoiceValues<DeepLabHead>& head_choices();

// model.normalization: torchvision's ImageNet mean/std, or TF DeepLab's x / 127.5 - 1.
enum class InputNormalization { imagenet, deeplab };
const ChoiceValues<InputNormalization>& normalization_choices();

// How logits at the logits stride are upsampled to the image: TF DeepLab's bilinear resize with
// align_corners=True, or torchvision's F.interpolate(align_corners=False) (half-pixel centres).
// `automatic` follows the head: deeplabv3plus (TF's form) aligns corners, deeplabv3 (torchvision's)
// uses half-pixel centres, so torchvision's weights predict in atrous as they do in torchvision.
enum class LogitsUpsampling { automatic, align_corners, half_pixel };
const ChoiceValues<LogitsUpsampling>& logits_upsampling_choices();

struct ModelOptions {
  std::string backbone = "resnet50";              // model.backbone: a name of backbone_registry()
  DeepLabHead head = DeepLabHead::deeplabv3plus;  // model.head
  int output_stride = 16;                         // model.output_stride: 8, 16 or 32
  std::string atrous_rates = "auto";              // model.atrous_rates: auto, none, or e.g. 6,12,18
  std::string multi_grid = "none";                // model.multi_grid: none or e.g. 1,2,4
  int decoder_output_stride = 4;                  // model.decoder_output_stride: 4, or 0 for no decoder
  bool aspp_separable = false;                    // model.aspp_separable
  bool decoder_separable = false;                 // model.decoder_separable
  double dropout = 0.1;                           // model.dropout: after the ASPP projection
  std::string image_pyramid = "1";                // model.image_pyramid: e.g. 0.5,1,1.5
  MergeMethod merge_method = MergeMethod::max;    // model.merge_method
  InputNormalization normalization = InputNormalization::imagenet;  // model.normalization
  ResNetStem resnet_stem = ResNetStem::torchvision;                 // model.resnet_stem
  bool aux_head = false;         // model.aux_head: torchvision's auxiliary FCN head
  double aux_loss_weight = 0.5;  // model.aux_loss_weight
  double bn_momentum = 0.1;      // model.bn_momentum: running-statistics update rate
  int num_classes = 0;           // model.num_classes: 0 takes the dataset's
  bool freeze_bn = false;        // model.freeze_bn: batch-norm statistics frozen
  LogitsUpsampling logits_upsampling = LogitsUpsampling::automatic;  // model.logits_upsampling
  MemoryFormatChoice memory_format = MemoryFormatChoice::automatic;  // model.memory_format
  AtrousConvPath atrous_conv = AtrousConvPath::automatic;            // model.atrous_conv

  static void declare(OptionTable& table, ModelOptions& options);
};

// Whether option `name` is one of ModelOptions' that decide what the network computes: every
// model.* option ModelOptions declares except model.memory_format and model.atrous_conv, which choose
// kernels for the machine at hand. eval and infer take these from the checkpoint they load.
bool defines_network(const std::string& name);

// The atrous rates in effect: "auto" is 6,12,18 at output stride 16, 12,24,36 at 8 and 3,6,9 at 32
// (torchvision's deeplabv3 head uses 12,24,36 at its output stride 8).
std::vector<int64_t> resolved_atrous_rates(const ModelOptions& options);
// model.multi_grid's rates; an OptionError unless there are 3 and the backbone supports them.
std::vector<int64_t> resolved_multi_grid(const ModelOptions& options);
std::vector<double> resolved_image_pyramid(const ModelOptions& options);
// model.logits_upsampling resolved for model.head: true = align_corners, false = half-pixel centres.
bool resolved_logits_align_corners(const ModelOptions& options);

}  // namespace atrous::model
