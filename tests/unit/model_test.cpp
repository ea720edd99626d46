// DeepLab geometry and the multi-scale rules of docs/tf-deeplab-reference.md; the numerics are
// checked against torchvision in tests/oracle.

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/model/atrous_schedule.h"
#include "atrous/model/backbone_registry.h"
#include "atrous/model/batch_norm.h"
#include "atrous/model/conv2d.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/weight_import.h"
#include "scratch_files.h"

namespace atrous::model {
namespace {

TEST(ScaleDimension, FollowsTensorflowDeepLab) {
  EXPECT_EQ(scale_dimension(513, 1.0 / 16), 33);
  EXPECT_EQ(scale_dimension(513, 1.0 / 4), 129);
  EXPECT_EQ(scale_dimension(513, 1.0 / 8), 65);
  EXPECT_EQ(scale_dimension(321, 1.0 / 16), 21);
  EXPECT_EQ(scale_dimension(513, 0.5), 257);
  EXPECT_EQ(scale_dimension(513, 0.75), 385);
  EXPECT_EQ(scale_dimension(513, 1.75), 897);
  EXPECT_EQ(scale_dimension(321, 1.25), 401);
  EXPECT_EQ(scale_dimension(321, 1.75 / 4), 141);
}

TEST(AtrousSchedule, TurnsStridesIntoDilationOnceTheOutputStrideIsReached) {
  AtrousSchedule schedule(16);
  EXPECT_EQ(schedule.next(2).stride, 2);         // stem
  EXPECT_EQ(schedule.next(2).stride, 2);         // pool: 4
  EXPECT_EQ(schedule.next(2).stride, 2);         // 8
  const UnitGeometry fourth = schedule.next(2);  // 16
  EXPECT_EQ(fourth.stride, 2);
  const UnitGeometry converted = schedule.next(2);
  EXPECT_EQ(converted.stride, 1);
  EXPECT_EQ(converted.dilation, 1);  // torchvision's previous_dilation
  EXPECT_EQ(schedule.current().dilation, 2);
  EXPECT_EQ(schedule.next(2).dilation, 2);
  EXPECT_EQ(schedule.current().dilation, 4);
  EXPECT_EQ(schedule.cumulative_stride(), 16);
}

TEST(MultiScaleLogits, ResizesEveryScaleToTheLargestAndMergesByMaxOrMean) {
  const at::Tensor images = at::rand({1, 3, 33, 33});
  // A network whose logits are its input's mean colour at stride 8, different per scale.
  auto network = [](const at::Tensor& input) {
    const int64_t side = scale_dimension(input.size(2), 1.0 / 8);
    return at::full({1, 2, side, side}, double(input.size(2)));
  };
  for (MergeMethod merge : {MergeMethod::max, MergeMethod::mean}) {
    const ScaleOutputs outputs = multi_scale_logits(images, {0.5, 1.0, 1.5}, 8, merge, network);
    ASSERT_EQ(outputs.size(), 4u);
    EXPECT_EQ(outputs[0].name, "scale_0.5");
    EXPECT_EQ(outputs[1].name, "scale_1");
    EXPECT_EQ(outputs[2].name, "scale_1.5");
    EXPECT_EQ(outputs[3].name, "merged");
    const int64_t common = scale_dimension(33, 1.5 / 8);  // 7
    for (const auto& output : outputs)
      EXPECT_EQ(output.logits.sizes(), (at::IntArrayRef{1, 2, common, common}));
    // Inputs 17, 33 and 49 pixels high.
    EXPECT_FLOAT_EQ(outputs[0].logits[0][0][3][3].item<float>(), 17.f);
    EXPECT_FLOAT_EQ(outputs[3].logits[0][1][0][0].item<float>(), merge == MergeMethod::max ? 49.f : 33.f);
  }
  const ScaleOutputs single = multi_scale_logits(images, {1.0}, 8, MergeMethod::max, network);
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0].name, "merged");
  EXPECT_EQ(single[0].logits.size(2), 5);
}

struct GeometryCase {
  std::string backbone;
  int output_stride;
  int decoder_output_stride;
  int64_t crop;
};

class DeepLabGeometry : public ::testing::TestWithParam<GeometryCase> {};

TEST_P(DeepLabGeometry, LogitsHaveTheTensorflowSize) {
  const GeometryCase& c = GetParam();
  ModelOptions options;
  options.backbone = c.backbone;
  options.output_stride = c.output_stride;
  options.decoder_output_stride = c.decoder_output_stride;
  DeepLab net(options, 3);
  net->eval();
  at::NoGradGuard no_grad;
  const ScaleOutputs outputs = net->forward(at::rand({1, 3, c.crop, c.crop}) * 255);
  const int64_t stride = c.decoder_output_stride > 0 ? c.decoder_output_stride : c.output_stride;
  const int64_t side = scale_dimension(c.crop, 1.0 / double(stride));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].logits.sizes(), (at::IntArrayRef{1, 3, side, side}));
  // The network itself, before any resize, lands on the same size at these odd crops.
  EXPECT_EQ(net->logits_at_one_scale(net->normalise(at::zeros({1, 3, c.crop, c.crop}))).size(3), side);
}

std::vector<GeometryCase> geometry_cases() {
  std::vector<GeometryCase> cases;
  for (const char* backbone : {"mobilenet_v2", "resnet50", "resnet101", "xception65"})
    for (int output_stride : {8, 16, 32})
      for (int decoder : {4, 0}) cases.push_back({backbone, output_stride, decoder, 321});
  cases.push_back({"mobilenet_v2", 16, 4, 513});
  cases.push_back({"mobilenet_v2", 8, 0, 513});
  cases.push_back({"resnet50", 16, 0, 513});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Backbones, DeepLabGeometry, ::testing::ValuesIn(geometry_cases()),
                         [](const ::testing::TestParamInfo<GeometryCase>& info) {
                           return info.param.backbone + "_os" + std::to_string(info.param.output_stride) +
                                  "_decoder" + std::to_string(info.param.decoder_output_stride) + "_crop" +
                                  std::to_string(info.param.crop);
                         });

TEST(DeepLab, PyramidYieldsEveryScaleAndMergedAndTrainingAddsTheAuxEntry) {
  ModelOptions options;
  options.backbone = "resnet50";
  options.head = DeepLabHead::deeplabv3;
  options.aux_head = true;
  options.image_pyramid = "0.5,1";
  options.aux_loss_weight = 0.4;
  DeepLab net(options, 4);
  net->train();
  const ScaleOutputs outputs = net->forward(at::rand({2, 3, 65, 65}) * 255);
  ASSERT_EQ(outputs.size(), 4u);
  EXPECT_EQ(outputs[2].name, "merged");
  EXPECT_EQ(outputs[3].name, "aux");
  EXPECT_DOUBLE_EQ(outputs[3].loss_weight, 0.4);
  EXPECT_EQ(outputs[3].logits.sizes(), outputs[2].logits.sizes());
  EXPECT_TRUE(at::equal(outputs[2].logits, at::max(outputs[0].logits, outputs[1].logits)));
  net->eval();
  at::NoGradGuard no_grad;
  EXPECT_EQ(net->forward(at::rand({1, 3, 65, 65})).size(), 3u);
}

TEST(DeepLab, RejectsBadOptionsNamingThem) {
  auto message = [](ModelOptions options) {
    try {
      DeepLab net(options, 3);
    } catch (const OptionError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  ModelOptions options;
  options.backbone = "resnet34";
  EXPECT_NE(message(options).find("--model.backbone = resnet34"), std::string::npos);
  options = ModelOptions();
  options.output_stride = 4;
  EXPECT_NE(message(options).find("--model.output_stride"), std::string::npos);
  options = ModelOptions();
  options.aux_loss_weight = std::numeric_limits<double>::infinity();
  EXPECT_NE(message(options).find("--model.aux_loss_weight = inf"), std::string::npos);
  options = ModelOptions();
  options.image_pyramid = "1,zero";
  EXPECT_NE(message(options).find("--model.image_pyramid"), std::string::npos);
  options = ModelOptions();
  options.multi_grid = "1,2";
  EXPECT_NE(message(options).find("--model.multi_grid"), std::string::npos);
  options = ModelOptions();
  options.aux_head = true;  // deeplabv3plus has none
  EXPECT_NE(message(options).find("--model.aux_head"), std::string::npos);
  // Out of range, before any conversion to an integer or a size could overflow.
  for (const char* rates : {"6,12,1e30", "3000000000", "6,1025", "6,12,", "0x10"}) {
    options = ModelOptions();
    options.atrous_rates = rates;
    EXPECT_NE(
        message(options).find("--model.atrous_rates = " + std::string(rates) +
                              " is not allowed; allowed: auto, none, or comma-separated integers from 1 "
                              "to 1024"),
        std::string::npos)
        << rates;
  }
  options = ModelOptions();
  options.multi_grid = "1,2,1e30";
  EXPECT_NE(message(options).find("--model.multi_grid = 1,2,1e30"), std::string::npos);
  // Scales whose names (scale_<value>, 6 digits) repeat would share one loss and one logits entry.
  for (const char* pyramid : {"1e300", "0.5,9", "1,1", "0.3333333,0.3333334"}) {
    options = ModelOptions();
    options.image_pyramid = pyramid;
    EXPECT_NE(message(options).find("--model.image_pyramid = " + std::string(pyramid)), std::string::npos)
        << pyramid;
  }
}

// The OptionError message of `action`, or "no error".
template <class Action>
std::string option_error_of(Action action) {
  try {
    action();
  } catch (const OptionError& error) {
    return error.message();
  }
  return "no error";
}

TEST(BackboneRegistry, IsTheOneListOfBackbonesAndOfWhatEachSupports) {
  std::vector<std::string> names;
  for (const BackboneEntry& entry : backbone_registry()) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{"resnet50", "resnet101", "mobilenet_v2", "xception65"}));
  EXPECT_EQ(choice_names(backbone_choices()), names);
  EXPECT_EQ(&find_backbone("xception65"), &backbone_registry()[3]);
  // TF DeepLab's weight decays, as the trainer used them before the registry held them.
  EXPECT_DOUBLE_EQ(find_backbone("resnet101").default_weight_decay, 1e-4);
  EXPECT_DOUBLE_EQ(find_backbone("mobilenet_v2").default_weight_decay, 4e-5);
  EXPECT_EQ(
      option_error_of([] { find_backbone("resnet34"); }),
      "option --model.backbone = resnet34 is not allowed; allowed: resnet50, resnet101, mobilenet_v2 or "
      "xception65");
  at::NoGradGuard no_grad;
  for (const BackboneEntry& entry : backbone_registry()) {
    SCOPED_TRACE(entry.name);
    EXPECT_FALSE(entry.low_level_feature.empty());
    BackboneSpec spec;
    spec.output_stride = 32;
    std::shared_ptr<BackboneImpl> backbone = entry.make(spec);
    EXPECT_EQ(entry.has_aux_features, backbone->channels().aux > 0);
    backbone->eval();
    const BackboneFeatures features = backbone->forward(at::zeros({1, 3, 65, 65}));
    EXPECT_EQ(entry.has_aux_features, features.aux.defined());
    EXPECT_EQ(features.low_level.size(1), backbone->channels().low_level);
  }
}

TEST(BackboneRegistry, DecidesMultiGridAndAuxHeadSupport) {
  ModelOptions options;
  options.multi_grid = "1,2,4";
  for (const BackboneEntry& entry : backbone_registry()) {
    options.backbone = entry.name;
    const std::string message = option_error_of([&] { resolved_multi_grid(options); });
    EXPECT_EQ(message == "no error", entry.supports_multi_grid) << entry.name << ": " << message;
  }
  options.backbone = "mobilenet_v2";
  EXPECT_NE(option_error_of([&] { resolved_multi_grid(options); })
                .find("allowed: none, or 3 comma-separated integers from 1 to 1024 (model.backbone resnet50, "
                      "resnet101 or "
                      "xception65)"),
            std::string::npos);
  options = ModelOptions();
  options.head = DeepLabHead::deeplabv3;
  options.aux_head = true;
  options.backbone = "xception65";
  EXPECT_EQ(
      option_error_of([&] { DeepLab net(options, 3); }),
      "option --model.aux_head = true is not allowed; allowed: true only with model.head = deeplabv3 and "
      "model.backbone resnet50 or resnet101");
}

TEST(ModelOptions, ChoicesAcceptTheirNamesSetTheEnumsAndWriteTheNamesBack) {
  OptionTable table;
  ModelOptions options;
  ModelOptions::declare(table, options);
  parse_options(table, {"--model.backbone", "xception65", "--model.head", "deeplabv3", "--model.merge_method",
                        "mean", "--model.normalization", "deeplab", "--model.resnet_stem", "beta",
                        "--model.logits_upsampling", "align_corners", "--model.atrous_conv", "aten"});
  EXPECT_EQ(options.backbone, "xception65");
  EXPECT_EQ(options.head, DeepLabHead::deeplabv3);
  EXPECT_EQ(options.merge_method, MergeMethod::mean);
  EXPECT_EQ(options.normalization, InputNormalization::deeplab);
  EXPECT_EQ(options.resnet_stem, ResNetStem::beta);
  EXPECT_EQ(options.logits_upsampling, LogitsUpsampling::align_corners);
  EXPECT_EQ(options.atrous_conv, AtrousConvPath::aten);
  const std::string ini = effective_config(table);
  for (const char* line :
       {"backbone = xception65  # command line\n", "head = deeplabv3  # command line\n",
        "merge_method = mean  # command line\n", "normalization = deeplab  # command line\n",
        "resnet_stem = beta  # command line\n", "atrous_conv = aten  # command line\n"})
    EXPECT_NE(ini.find(line), std::string::npos) << line << ini;
  const std::string help = options_help(table);
  EXPECT_NE(help.find("default: resnet50; allowed: resnet50, resnet101, mobilenet_v2 or xception65"),
            std::string::npos)
      << help;
  EXPECT_NE(help.find("default: deeplabv3plus; allowed: deeplabv3plus or deeplabv3"), std::string::npos);
  EXPECT_NE(help.find("default: torchvision; allowed: torchvision or beta"), std::string::npos);
  EXPECT_NE(help.find("default: auto; allowed: auto, valid_taps or aten"), std::string::npos) << help;

  OptionTable again;
  ModelOptions wrong;
  ModelOptions::declare(again, wrong);
  EXPECT_EQ(
      option_error_of([&] {
        parse_options(again, {"--model.merge_method", "median"});
      }),
      "option --model.merge_method = median is not allowed; allowed: max or mean (on the command line)");
}

TEST(LogitsUpsampling, AutomaticFollowsTheHeadAndAnExplicitChoiceWins) {
  ModelOptions options;
  EXPECT_TRUE(resolved_logits_align_corners(options));  // deeplabv3plus: TF's align_corners
  options.head = DeepLabHead::deeplabv3;
  EXPECT_FALSE(resolved_logits_align_corners(options));  // deeplabv3: torchvision's half-pixel centres
  options.logits_upsampling = LogitsUpsampling::align_corners;
  EXPECT_TRUE(resolved_logits_align_corners(options));
  options.head = DeepLabHead::deeplabv3plus;
  options.logits_upsampling = LogitsUpsampling::half_pixel;
  EXPECT_FALSE(resolved_logits_align_corners(options));
}

TEST(LogitsUpsampling, UpsampleLogitsAndTheOutputsFlagUseTheModelsConvention) {
  const at::Tensor logits = at::randn({1, 3, 5, 7});
  const at::Tensor half_pixel = at::upsample_bilinear2d(logits, {33, 45}, /*align_corners=*/false);
  const at::Tensor aligned = at::upsample_bilinear2d(logits, {33, 45}, /*align_corners=*/true);
  ASSERT_GT((half_pixel - aligned).abs().max().item<double>(), 0.1);  // the conventions differ here
  at::NoGradGuard no_grad;
  for (DeepLabHead head : {DeepLabHead::deeplabv3plus, DeepLabHead::deeplabv3}) {
    ModelOptions options;
    options.backbone = "mobilenet_v2";
    options.head = head;
    DeepLab net(options, 3);
    net->eval();
    const bool aligns = head == DeepLabHead::deeplabv3plus;
    SCOPED_TRACE(aligns ? "deeplabv3plus" : "deeplabv3");
    EXPECT_EQ(net->upsampling_aligns_corners(), aligns);
    EXPECT_TRUE(at::allclose(net->upsample_logits(logits, 33, 45), aligns ? aligned : half_pixel));
    EXPECT_TRUE(at::equal(net->upsample_logits(logits, 5, 7), logits));
    for (const ScaleOutput& output : net->forward(at::rand({1, 3, 33, 33}) * 255))
      EXPECT_EQ(output.align_corners, aligns) << output.name;
  }
}

TEST(WeightImport, UnreadableOrForeignFilesAreUserErrorsNamingTheFile) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_weight_import_test";
  std::filesystem::create_directories(dir);
  const std::string garbage = (dir / "garbage.pt").string();
  std::ofstream(garbage) << "not a torch file at all";
  for (const std::string& path : {garbage, (dir / "missing.pt").string()}) {
    try {
      read_state_dict(path);
      FAIL() << path;
    } catch (const UserError& error) {
      EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
    }
  }
  test_support::remove_tree(dir.string());
}

// LibTorch gives an unpickled tensor the offset, sizes and strides of the file as they are, even past
// the end of its storage: such a tensor, copied into a model, would be read out of bounds. And an
// atrous checkpoint without its "model" entry is named as such (Dict::at threw std::out_of_range).
TEST(WeightImport, ATensorReachingPastItsStorageOrACheckpointWithoutAModelIsRefused) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_weight_storage_test";
  std::filesystem::create_directories(dir);
  at::Tensor outside = at::zeros({2});                   // a storage of 2 floats
  outside.unsafeGetTensorImpl()->set_storage_offset(8);  // elements 8 and 9 of it
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  dict.insert("w", outside);
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
  const std::string path = (dir / "outside.pt").string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  try {
    read_state_dict(path);
    FAIL() << "a tensor outside its storage was read";
  } catch (const UserError& error) {
    EXPECT_NE(error.message().find("reaches past its storage of 8 bytes"), std::string::npos)
        << error.message();
  }
  c10::impl::GenericDict checkpoint(c10::StringType::get(), c10::AnyType::get());
  checkpoint.insert("format", std::string("atrous-checkpoint"));  // and no "model"
  const std::vector<char> without_model = torch::jit::pickle_save(c10::IValue(checkpoint));
  std::ofstream(path, std::ios::binary).write(without_model.data(), std::streamsize(without_model.size()));
  try {
    read_state_dict(path);
    FAIL() << "a checkpoint without a model was read";
  } catch (const UserError& error) {
    EXPECT_NE(error.message().find("an atrous checkpoint without a 'model' entry"), std::string::npos)
        << error.message();
  }
  try {
    read_state_dict(dir.string());
    FAIL() << "a directory was read as weights";
  } catch (const UserError& error) {
    EXPECT_NE(error.message().find("weights file '" + dir.string() + "' is a directory; give a file"),
              std::string::npos)
        << error.message();
  }
  test_support::remove_tree(dir.string());
}

// A complex tensor lost its imaginary part with only LibTorch's warning; NaN weights were loaded.
TEST(WeightImport, ComplexOrNonFiniteValuesAreRefusedByName) {
  Conv2dSpec spec;
  spec.in_channels = 2;
  spec.out_channels = 1;
  spec.bias = true;
  Conv2d layer(spec);
  const std::map<std::string, at::Tensor> complex_weights = {
      {"weight", at::complex(at::ones({1, 2, 1, 1}), at::ones({1, 2, 1, 1}))}, {"bias", at::zeros({1})}};
  const std::map<std::string, at::Tensor> nan_weights = {{"weight", at::full({1, 2, 1, 1}, std::nan(""))},
                                                         {"bias", at::zeros({1})}};
  const at::Tensor before = layer->weight.detach().clone();
  for (const auto& [weights, expected] :
       {std::pair{complex_weights, "weight: file ComplexFloat (complex) vs model Float"},
        std::pair{nan_weights, "weight: file values not all finite (inf or NaN)"}}) {
    try {
      import_weights(*layer, weights, "model", {}, false, "w.pth");
      ADD_FAILURE() << expected;
    } catch (const UserError& error) {
      EXPECT_NE(error.message().find(expected), std::string::npos) << error.message();
    }
  }
  EXPECT_TRUE(at::equal(layer->weight.detach(), before)) << "nothing is loaded";
}

// A batch of one value per channel (a batch of 1 into ASPP's image pooling, as local-bn with one
// sample per rank trains) made ATen's running variance 0 / 0 = NaN.
TEST(BatchNorm2d, OneValuePerChannelKeepsTheRunningStatisticsFinite) {
  BatchNorm2d norm(3);
  norm->train();
  const at::Tensor output = norm->forward(at::tensor({1.f, 2.f, 3.f}).view({1, 3, 1, 1}));
  EXPECT_TRUE(at::allclose(output, at::zeros({1, 3, 1, 1}), 0, 1e-4))
      << output;  // normalised to 0 (+ bias 0)
  EXPECT_TRUE(at::allclose(norm->running_mean, at::tensor({0.1f, 0.2f, 0.3f})));
  EXPECT_TRUE(at::allclose(norm->running_var, at::full({3}, 0.9f)));  // towards the batch variance 0
  EXPECT_EQ(norm->num_batches_tracked.item<int64_t>(), 1);
}

}  // namespace
}  // namespace atrous::model
