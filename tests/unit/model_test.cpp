// DeepLab geometry and the multi-scale rules of DESIGN.md (Reference semantics); the numerics are
// checked against torchvision in tests/oracle.

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "atrous/core/error.h"
#include "atrous/model/atrous_schedule.h"
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
  options.head = "deeplabv3";
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
  options.image_pyramid = "1,zero";
  EXPECT_NE(message(options).find("--model.image_pyramid"), std::string::npos);
  options = ModelOptions();
  options.multi_grid = "1,2";
  EXPECT_NE(message(options).find("--model.multi_grid"), std::string::npos);
  options = ModelOptions();
  options.aux_head = true;  // deeplabv3plus has none
  EXPECT_NE(message(options).find("--model.aux_head"), std::string::npos);
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

}  // namespace
}  // namespace atrous::model
