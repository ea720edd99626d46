// Loading a predictor from a state dict: the weights arrive exactly, the class count comes from the
// file unless the data fixes it, eval.output_stride rebuilds the model, and mistakes are named.

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <filesystem>
#include <fstream>

#include "atrous/core/error.h"
#include "atrous/eval/predictor_loader.h"

namespace atrous::eval {
namespace {

namespace fs = std::filesystem;

// A mobilenet_v2 DeepLab of `classes` classes, saved as torch.save({name: tensor}) would.
class PredictorLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_options.backbone = "mobilenet_v2";
    at::manual_seed(3);
    saved = model::DeepLab(model_options, 3);
    path = (fs::path(::testing::TempDir()) / "atrous_predictor_loader_test.pt").string();
    c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
    for (const auto& item : saved->named_parameters()) dict.insert(item.key(), item.value().detach());
    for (const auto& item : saved->named_buffers()) dict.insert(item.key(), item.value());
    const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  void TearDown() override { fs::remove(path); }

  model::ModelOptions model_options;
  model::DeepLab saved{nullptr};
  std::string path;
};

TEST_F(PredictorLoaderTest, TakesTheClassesAndWeightsOfTheFile) {
  Predictor loaded = load_predictor(model_options, PredictOptions{}, path, at::kCPU, 0);
  EXPECT_EQ(loaded.num_classes(), 3);
  Predictor original(saved, PredictOptions{});
  const at::Tensor images = at::rand({1, 3, 33, 33}) * 255;
  EXPECT_TRUE(at::equal(loaded.probabilities(images), original.probabilities(images)));
}

TEST_F(PredictorLoaderTest, EvaluatesAtTheRequestedOutputStride) {
  PredictOptions at_eight;
  at_eight.output_stride = 8;
  const Predictor loaded = load_predictor(model_options, at_eight, path, at::kCPU, 3);
  EXPECT_EQ(loaded.net()->options().output_stride, 8);
  EXPECT_EQ(load_predictor(model_options, PredictOptions{}, path, at::kCPU, 3).net()->options().output_stride,
            16);
}

TEST_F(PredictorLoaderTest, NamesWhatDoesNotFit) {
  EXPECT_THROW(load_predictor(model_options, PredictOptions{}, path, at::kCPU, 5),
               UserError);  // 3 in the file
  PredictOptions bad_stride;
  bad_stride.output_stride = 4;
  EXPECT_THROW(load_predictor(model_options, bad_stride, path, at::kCPU, 0), OptionError);
  try {
    load_predictor(model_options, PredictOptions{}, path + ".missing", at::kCPU, 0);
    FAIL() << "a missing checkpoint was loaded";
  } catch (const UserError& error) {
    EXPECT_NE(error.message().find(path + ".missing"), std::string::npos) << error.message();
  }
  EXPECT_THROW(CheckpointInputOptions{}.validate(), OptionError);
}

}  // namespace
}  // namespace atrous::eval
