#pragma once
// ModelOptions: the `model.*` options that choose and shape a DeepLab, declared for every command
// that builds one (train, eval, infer, describe). DeepLabImpl validates them when it is built and
// names the offending option.

#include <string>
#include <vector>

namespace atrous {
class OptionTable;
}

namespace atrous::model {

struct ModelOptions {
  std::string backbone = "resnet50";        // model.backbone: resnet50, resnet101, mobilenet_v2, xception65
  std::string head = "deeplabv3plus";       // model.head: deeplabv3plus (TF form) or deeplabv3 (torchvision)
  int output_stride = 16;                   // model.output_stride: 8, 16 or 32
  std::string atrous_rates = "auto";        // model.atrous_rates: auto, none, or e.g. 6,12,18
  std::string multi_grid = "none";          // model.multi_grid: none or e.g. 1,2,4
  int decoder_output_stride = 4;            // model.decoder_output_stride: 4, or 0 for no decoder
  bool aspp_separable = false;              // model.aspp_separable
  bool decoder_separable = false;           // model.decoder_separable
  double dropout = 0.1;                     // model.dropout: after the ASPP projection
  std::string image_pyramid = "1";          // model.image_pyramid: e.g. 0.5,1,1.5
  std::string merge_method = "max";         // model.merge_method: max or mean
  std::string normalization = "imagenet";   // model.normalization: imagenet or deeplab
  std::string resnet_stem = "torchvision";  // model.resnet_stem: torchvision or beta
  bool aux_head = false;                    // model.aux_head: torchvision's auxiliary FCN head (deeplabv3)
  double aux_loss_weight = 0.5;             // model.aux_loss_weight
  double bn_momentum = 0.1;                 // model.bn_momentum: running-statistics update rate
  int num_classes = 0;                      // model.num_classes: 0 takes the dataset's

  static void declare(OptionTable& table, ModelOptions& options);
};

// The atrous rates in effect: "auto" is 6,12,18 at output stride 16, 12,24,36 at 8 and 3,6,9 at 32
// (torchvision's deeplabv3 head uses 12,24,36 at its output stride 8).
std::vector<int64_t> resolved_atrous_rates(const ModelOptions& options);
std::vector<int64_t> resolved_multi_grid(const ModelOptions& options);
std::vector<double> resolved_image_pyramid(const ModelOptions& options);

}  // namespace atrous::model
