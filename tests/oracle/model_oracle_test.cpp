// Our models against torchvision (tests/oracle/torchvision_reference.py writes the references into
// $ATROUS_ORACLE_DIR): torchvision's state dicts load by name, and the outputs agree within 1e-4 of
// the output's scale, with the same parameter counts. The prediction path (logits upsampled to an
// odd image size) agrees with torchvision's too, and only with model.logits_upsampling's automatic
// choice for the deeplabv3 head.

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "atrous/core/error.h"
#include "atrous/model/deeplab.h"
#include "atrous/model/model_summary.h"
#include "atrous/model/weight_import.h"

namespace atrous::model {
namespace {

std::string reference(const std::string& file) {
  const char* dir = std::getenv("ATROUS_ORACLE_DIR");
  if (dir == nullptr) throw InternalError("ATROUS_ORACLE_DIR is not set (ctest sets it)", ATROUS_HERE);
  return std::string(dir) + "/" + file;
}

// max |actual - expected| relative to max |expected|.
double relative_error(const at::Tensor& actual, const at::Tensor& expected) {
  EXPECT_EQ(actual.sizes(), expected.sizes());
  if (actual.sizes() != expected.sizes()) return 1e9;
  return (actual - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

DeepLab load(ModelOptions options, const std::string& name, const std::string& scope) {
  DeepLab net(options, 21);
  const auto weights = read_state_dict(reference(name + ".pt"));
  const ImportReport report = import_weights(*net, weights, scope, net->logits_prefixes(), false, name);
  EXPECT_TRUE(report.missing.empty() && report.unexpected.empty() && report.mismatched.empty());
  net->eval();
  return net;
}

TEST(ModelOracle, DeepLabV3ResNet50MatchesTorchvision) {
  ModelOptions options;
  options.head = DeepLabHead::deeplabv3;
  options.output_stride = 8;
  options.aux_head = true;
  DeepLab net = load(options, "deeplabv3_resnet50", "model");
  const auto io = read_state_dict(reference("deeplabv3_resnet50_io.pt"));
  EXPECT_EQ(parameter_count(*net), io.at("parameter_count").item<int64_t>());

  at::NoGradGuard no_grad;
  at::Tensor aux;
  const at::Tensor out = net->logits_at_one_scale(net->normalise(io.at("input")), &aux);
  EXPECT_LT(relative_error(out, io.at("out")), 1e-4);
  EXPECT_LT(relative_error(aux, io.at("aux")), 1e-4);
  // The logits are the merged output at one scale: 65 x 81 at stride 8 -> 9 x 11.
  const ScaleOutputs outputs = net->forward(io.at("input"));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_LT(relative_error(outputs[0].logits, io.at("out")), 1e-4);
}

// The share of pixels whose highest-scoring class is the same in both [N, C, H, W] logits.
double argmax_agreement(const at::Tensor& actual, const at::Tensor& expected) {
  return actual.argmax(1).eq(expected.argmax(1)).to(at::kDouble).mean().item<double>();
}

TEST(ModelOracle, DeepLabV3ResNet50PredictsAsTorchvisionAtTheOriginalOddImageSize) {
  ModelOptions options;
  options.head = DeepLabHead::deeplabv3;
  options.output_stride = 8;
  options.aux_head = true;
  DeepLab net = load(options, "deeplabv3_resnet50", "model");
  ASSERT_FALSE(net->upsampling_aligns_corners());  // the automatic choice for torchvision's head
  const auto io = read_state_dict(reference("deeplabv3_resnet50_prediction_io.pt"));
  const at::Tensor& images = io.at("input");
  const int64_t height = images.size(2), width = images.size(3);  // 217 x 301
  const at::Tensor& expected = io.at("out");

  at::NoGradGuard no_grad;
  const at::Tensor logits = net->logits_at_one_scale(net->normalise(images));
  ASSERT_EQ(logits.size(2), 28);  // stride 8: 28 x 38 logits for 217 x 301 pixels
  const at::Tensor predicted = net->upsample_logits(logits, height, width);
  EXPECT_LT(relative_error(predicted, expected), 1e-4);
  EXPECT_GE(argmax_agreement(predicted, expected), 0.9999);

  // TF's convention (align_corners) on the same logits: the prediction visibly differs.
  options.logits_upsampling = LogitsUpsampling::align_corners;
  const DeepLab aligned(options, 21);
  ASSERT_TRUE(aligned->upsampling_aligns_corners());
  const at::Tensor misaligned = aligned->upsample_logits(logits, height, width);
  EXPECT_GT(relative_error(misaligned, expected), 1e-2);
  EXPECT_LT(argmax_agreement(misaligned, expected), 0.99);
}

TEST(ModelOracle, ResNet50BackboneAtOutputStride16MatchesTorchvisionDilation) {
  ModelOptions options;  // deeplabv3plus at output stride 16: torchvision's [False, False, True]
  DeepLab net(options, 21);
  const auto weights = read_state_dict(reference("resnet50_os16.pt"));
  const ImportReport report =
      import_weights(*net, weights, "backbone", net->logits_prefixes(), false, "resnet50");
  EXPECT_EQ(report.ignored, (std::vector<std::string>{"fc.bias", "fc.weight"}));
  net->eval();
  const auto io = read_state_dict(reference("resnet50_os16_io.pt"));
  EXPECT_EQ(parameter_count(net->backbone()) + 2048 * 1000 + 1000, io.at("parameter_count").item<int64_t>());

  at::NoGradGuard no_grad;
  const BackboneFeatures features = net->backbone().forward(net->normalise(io.at("input")));
  EXPECT_LT(relative_error(features.low_level, io.at("low_level")), 1e-4);
  EXPECT_LT(relative_error(features.aux, io.at("aux")), 1e-4);
  EXPECT_LT(relative_error(features.out, io.at("out")), 1e-4);
}

TEST(ModelOracle, MobileNetV2BackboneMatchesTorchvision) {
  ModelOptions options;
  options.backbone = "mobilenet_v2";
  options.output_stride = 32;
  DeepLab net(options, 21);
  const auto weights = read_state_dict(reference("mobilenet_v2_os32.pt"));
  const ImportReport report =
      import_weights(*net, weights, "backbone", net->logits_prefixes(), false, "mnv2");
  EXPECT_FALSE(report.ignored.empty());  // features.18 and the classifier
  for (const auto& name : report.ignored)
    EXPECT_TRUE(name.rfind("features.18.", 0) == 0 || name.rfind("classifier.", 0) == 0) << name;
  net->eval();
  const auto io = read_state_dict(reference("mobilenet_v2_os32_io.pt"));
  at::NoGradGuard no_grad;
  const BackboneFeatures features = net->backbone().forward(net->normalise(io.at("input")));
  EXPECT_LT(relative_error(features.low_level, io.at("low_level")), 1e-4);
  EXPECT_LT(relative_error(features.out, io.at("out")), 1e-4);
}

TEST(ModelOracle, OtherClassCountNeedsSkipLogitsAndThenKeepsTheFreshClassifier) {
  ModelOptions options;
  options.head = DeepLabHead::deeplabv3;
  options.output_stride = 8;
  options.aux_head = true;
  DeepLab net(options, 5);
  const auto weights = read_state_dict(reference("deeplabv3_resnet50.pt"));
  try {
    import_weights(*net, weights, "model", net->logits_prefixes(), false, "tv");
    FAIL() << "a 21-class dict loaded into a 5-class model";
  } catch (const UserError& error) {
    EXPECT_NE(
        std::string(error.what()).find("classifier.4.weight: file [21, 256, 1, 1] vs model [5, 256, 1, 1]"),
        std::string::npos)
        << error.what();
  }
  const at::Tensor fresh = net->named_parameters()["classifier.4.weight"].clone();
  const ImportReport report = import_weights(*net, weights, "model", net->logits_prefixes(), true, "tv");
  EXPECT_EQ(report.skipped_logits.size(), 4u);  // weight and bias of classifier.4 and aux_classifier.4
  EXPECT_TRUE(at::equal(net->named_parameters()["classifier.4.weight"], fresh));
  EXPECT_TRUE(at::equal(net->named_parameters()["classifier.1.weight"], weights.at("classifier.1.weight")));
}

}  // namespace
}  // namespace atrous::model
