#include "atrous/model/model_options.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include "atrous/core/options.h"
#include "atrous/model/backbone_registry.h"
#include "atrous/model/multi_scale.h"

namespace atrous::model {
namespace {

// Dilation rates and multipliers beyond this are no atrous convolution any backend runs.
constexpr int64_t max_rate = 1024;
// Image-pyramid scales beyond this are typing mistakes, not inputs that fit in memory.
constexpr double max_pyramid_scale = 8;

std::vector<int64_t> parse_integer_list(const std::string& option, const std::string& text,
                                        const std::string& allowed) {
  std::vector<int64_t> integers;
  for (double value : parse_positive_numbers(option, text, allowed, double(max_rate))) {
    if (value != std::floor(value)) bad_option(option, text, allowed, ATROUS_HERE);
    integers.push_back(static_cast<int64_t>(value));
  }
  return integers;
}

std::string multi_grid_allowed() {
  return "none, or 3 comma-separated integers from 1 to 1024 (model.backbone " +
         backbone_names_where([](const BackboneEntry& entry) { return entry.supports_multi_grid; }) + ")";
}

// How the network runs, not what it computes: model.memory_format and model.atrous_conv.
void declare_kernel_options(OptionTable& table, ModelOptions& options) {
  table.add_choice("model.memory_format", &options.memory_format, MemoryFormatChoice::automatic,
                   "layout of the convolutions' weights and activations; auto: channels_last on GPUs, "
                   "contiguous on CPUs",
                   memory_format_choices());
  table.add_choice("model.atrous_conv", &options.atrous_conv, AtrousConvPath::automatic,
                   "kernel of the dilated convolutions: valid_taps computes each tap only where it reads "
                   "inside the map, aten is ATen's convolution over the padded map; auto: valid_taps on "
                   "CPUs where it was measured faster (channels-last, or at most 75% of the taps' work "
                   "inside the map), aten elsewhere and on GPUs",
                   atrous_conv_path_choices());
}

}  // namespace

void ModelOptions::declare(OptionTable& table, ModelOptions& options) {
  table.add_choice("model.backbone", &options.backbone, std::string("resnet50"), "the feature extractor",
                   backbone_choices());
  table.add_choice(
      "model.head", &options.head, DeepLabHead::deeplabv3plus,
      "deeplabv3plus: TF DeepLab's ASPP + decoder; deeplabv3: torchvision's DeepLabV3 head and names",
      head_choices());
  table.add("model.output_stride", &options.output_stride, 16,
            "input size / backbone feature size; later strides become atrous dilation", "8, 16 or 32");
  table.add("model.atrous_rates", &options.atrous_rates, std::string("auto"),
            "ASPP's atrous rates; auto: 6,12,18 at output stride 16, 12,24,36 at 8, 3,6,9 at 32",
            "auto, none, or comma-separated integers from 1 to 1024");
  table.add("model.multi_grid", &options.multi_grid, std::string("none"),
            "dilation multipliers of the last backbone block's units (e.g. 1,2,4)", multi_grid_allowed());
  table.add("model.decoder_output_stride", &options.decoder_output_stride, 4,
            "deeplabv3plus: the decoder's stride; 0: no decoder (DeepLabV3 in TF's form)", "4 or 0");
  table.add("model.aspp_separable", &options.aspp_separable, false, "depthwise-separable ASPP convs",
            "true or false");
  table.add("model.decoder_separable", &options.decoder_separable, false, "depthwise-separable decoder convs",
            "true or false");
  table.add("model.dropout", &options.dropout, 0.1,
            "dropout after the ASPP projection (torchvision's deeplabv3 uses 0.5)", "a number in [0, 1)");
  table.add("model.image_pyramid", &options.image_pyramid, std::string("1"),
            "input scales of the multi-scale logits, e.g. 0.5,1,1.5",
            "comma-separated numbers in (0, 8], each with its own name (scale_<value>)");
  table.add_choice("model.merge_method", &options.merge_method, MergeMethod::max,
                   "how the scales' logits are merged", merge_method_choices());
  table.add_choice("model.normalization", &options.normalization, InputNormalization::imagenet,
                   "input normalisation: imagenet (torchvision mean/std) or deeplab (x / 127.5 - 1)",
                   normalization_choices());
  table.add_choice("model.resnet_stem", &options.resnet_stem, ResNetStem::torchvision,
                   "ResNet's stem: torchvision (7x7 conv) or beta (three 3x3 convs, TF's resnet_v1_beta)",
                   resnet_stem_choices());
  table.add(
      "model.aux_head", &options.aux_head, false,
      "deeplabv3 head: torchvision's auxiliary FCN head on the backbone's aux features (model.backbone " +
          backbone_names_where([](const BackboneEntry& entry) { return entry.has_aux_features; }) + ")",
      "true or false");
  table.add("model.aux_loss_weight", &options.aux_loss_weight, 0.5, "weight of the aux head's loss",
            "a finite number >= 0");
  table.add("model.bn_momentum", &options.bn_momentum, 0.1,
            "batch norm running-statistics update rate (TF's decay 0.9997 is 0.0003)", "a number in (0, 1]");
  table.add("model.num_classes", &options.num_classes, 0, "classes of the logits; 0: the dataset's",
            "an integer >= 0");
  table.add_choice("model.logits_upsampling", &options.logits_upsampling, LogitsUpsampling::automatic,
                   "how logits are upsampled to the image (loss, eval, infer): align_corners as TF DeepLab, "
                   "half_pixel as torchvision; auto: half_pixel for model.head deeplabv3, else align_corners",
                   logits_upsampling_choices());
  table.add("model.freeze_bn", &options.freeze_bn, false,
            "keep batch-norm statistics frozen (TF's fine_tune_batch_norm = false)", "true or false");
  declare_kernel_options(table, options);
}

bool defines_network(const std::string& name) {
  OptionTable all, kernels;
  ModelOptions all_options, kernel_options;
  ModelOptions::declare(all, all_options);
  declare_kernel_options(kernels, kernel_options);
  return all.find(name) != nullptr && kernels.find(name) == nullptr;
}

const ChoiceValues<DeepLabHead>& head_choices() {
  static const ChoiceValues<DeepLabHead> choices{{"deeplabv3plus", DeepLabHead::deeplabv3plus},
                                                 {"deeplabv3", DeepLabHead::deeplabv3}};
  return choices;
}

const ChoiceValues<InputNormalization>& normalization_choices() {
  static const ChoiceValues<InputNormalization> choices{{"imagenet", InputNormalization::imagenet},
                                                        {"deeplab", InputNormalization::deeplab}};
  return choices;
}

const ChoiceValues<LogitsUpsampling>& logits_upsampling_choices() {
  static const ChoiceValues<LogitsUpsampling> choices{{"auto", LogitsUpsampling::automatic},
                                                      {"align_corners", LogitsUpsampling::align_corners},
                                                      {"half_pixel", LogitsUpsampling::half_pixel}};
  return choices;
}

std::vector<int64_t> resolved_atrous_rates(const ModelOptions& options) {
  if (options.atrous_rates == "none") return {};
  if (options.atrous_rates == "auto") {
    const int64_t base = 96 / options.output_stride;  // 6 at 16, 12 at 8, 3 at 32
    return {base, 2 * base, 3 * base};
  }
  return parse_integer_list("model.atrous_rates", options.atrous_rates,
                            "auto, none, or comma-separated integers from 1 to 1024");
}

std::vector<int64_t> resolved_multi_grid(const ModelOptions& options) {
  if (options.multi_grid == "none") return {};
  const std::string allowed = multi_grid_allowed();
  std::vector<int64_t> rates = parse_integer_list("model.multi_grid", options.multi_grid, allowed);
  if (rates.size() != 3 || !find_backbone(options.backbone).supports_multi_grid)
    bad_option("model.multi_grid", options.multi_grid, allowed, ATROUS_HERE);
  return rates;
}

std::vector<double> resolved_image_pyramid(const ModelOptions& options) {
  const char* allowed = "comma-separated numbers in (0, 8], each with its own name (scale_<value>)";
  const std::vector<double> scales =
      parse_positive_numbers("model.image_pyramid", options.image_pyramid, allowed, max_pyramid_scale);
  // Each scale's loss and logits are keyed by its name; two scales of one name would collide.
  std::set<std::string> names;
  for (double scale : scales)
    if (!names.insert(scale_name(scale)).second)
      bad_option("model.image_pyramid", options.image_pyramid, allowed, ATROUS_HERE);
  return scales;
}

bool resolved_logits_align_corners(const ModelOptions& options) {
  switch (options.logits_upsampling) {
    case LogitsUpsampling::align_corners:
      return true;
    case LogitsUpsampling::half_pixel:
      return false;
    case LogitsUpsampling::automatic:
      break;
  }
  return options.head == DeepLabHead::deeplabv3plus;
}

}  // namespace atrous::model
