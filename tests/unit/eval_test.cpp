// Evaluation metrics against an independent count, the absent-class convention, evaluation of a
// dataset in memory, multi-scale + flip inference against the averaging written out by hand, by
// either logits upsampling convention, the names of inference's outputs, and what eval.checkpoint
// may name.

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/data/in_memory_dataset.h"
#include "atrous/distributed/local_communicator.h"
#include "atrous/eval/confusion_matrix.h"
#include "atrous/eval/evaluator.h"
#include "atrous/eval/image_prediction.h"
#include "atrous/eval/predictor.h"
#include "atrous/eval/predictor_loader.h"
#include "atrous/model/multi_scale.h"
#include "atrous/train/checkpoint.h"
#include "scratch_files.h"

namespace atrous::eval {
namespace {

TEST(ConfusionMatrix, MatchesAPixelByPixelCountAndSkipsTheIgnoreLabel) {
  at::manual_seed(3);
  const at::Tensor labels = at::randint(0, 4, {2, 7, 9}, at::kLong);
  labels.view(-1).slice(0, 0, 20).fill_(255);
  const at::Tensor predictions = at::randint(0, 4, {2, 7, 9}, at::kLong);
  const at::Tensor matrix = confusion_matrix(predictions, labels, 4, 255);
  std::vector<int64_t> expected(16, 0);
  auto l = labels.flatten(), p = predictions.flatten();
  for (int64_t i = 0; i < l.numel(); ++i)
    if (l[i].item<int64_t>() != 255) ++expected[l[i].item<int64_t>() * 4 + p[i].item<int64_t>()];
  for (int g = 0; g < 4; ++g)
    for (int q = 0; q < 4; ++q) EXPECT_EQ(matrix[g][q].item<int64_t>(), expected[g * 4 + q]);
  EXPECT_EQ(matrix.sum().item<int64_t>(), 2 * 7 * 9 - 20);
}

TEST(SegmentationMetrics, IouPerClassAndTheAbsentClassLeftOutOfTheMean) {
  // Class 0: TP 3, FN 1 (predicted 1), FP 2 (from class 1). Class 1: TP 4, FP 1, FN 2. Class 2 absent.
  const at::Tensor matrix = at::tensor({3, 1, 0, 2, 4, 0, 0, 0, 0}, at::kLong).view({3, 3});
  const SegmentationMetrics metrics = segmentation_metrics(matrix);
  EXPECT_DOUBLE_EQ(metrics.iou[0], 3.0 / (3 + 1 + 2));
  EXPECT_DOUBLE_EQ(metrics.iou[1], 4.0 / (4 + 2 + 1));
  EXPECT_TRUE(std::isnan(metrics.iou[2]));
  EXPECT_EQ(metrics.classes_counted, 2);
  EXPECT_DOUBLE_EQ(metrics.mean_iou, (3.0 / 6 + 4.0 / 7) / 2);
  EXPECT_DOUBLE_EQ(metrics.pixel_accuracy, 7.0 / 10);
  // A class predicted but never in the ground truth counts, with IoU 0.
  const SegmentationMetrics spurious = segmentation_metrics(at::tensor({5, 1, 0, 0}, at::kLong).view({2, 2}));
  EXPECT_EQ(spurious.classes_counted, 2);
  EXPECT_DOUBLE_EQ(spurious.iou[1], 0.0);
}

TEST(Predictor, AveragesSoftmaxOverScalesAndFlipsAtFullResolution) {
  model::ModelOptions options;
  options.backbone = "mobilenet_v2";
  options.output_stride = 32;
  at::manual_seed(0);
  model::DeepLab net(options, 3);
  net->eval();
  const at::Tensor images = at::rand({1, 3, 41, 57}) * 255;
  PredictOptions predict;
  predict.scales = "0.5,1.25";
  predict.flip = true;
  Predictor predictor(net, predict);
  const at::Tensor probabilities = predictor.probabilities(images);

  at::NoGradGuard no_grad;
  const at::Tensor x = net->normalise(images);
  at::Tensor expected = at::zeros_like(probabilities);
  for (double s : {0.5, 1.25})
    for (bool flip : {false, true}) {
      const at::Tensor input = flip ? x.flip({3}) : x;
      at::Tensor logits = net->logits_at_one_scale(at::upsample_bilinear2d(
          input, {model::scale_dimension(41, s), model::scale_dimension(57, s)}, true));
      at::Tensor p = at::softmax(at::upsample_bilinear2d(logits, {41, 57}, true), 1);
      expected += (flip ? p.flip({3}) : p) / 4.0;
    }
  EXPECT_EQ(probabilities.sizes(), (at::IntArrayRef{1, 3, 41, 57}));
  EXPECT_TRUE(at::allclose(probabilities, expected, 1e-5, 1e-6));
  EXPECT_TRUE(at::equal(predictor.predict(images), expected.argmax(1)));
  // Flipping the input mirrors the flip-averaged prediction exactly.
  EXPECT_TRUE(at::allclose(predictor.probabilities(images.flip({3})), probabilities.flip({3}), 1e-5, 1e-6));
}

model::DeepLab small_net(int64_t classes, model::LogitsUpsampling upsampling) {
  model::ModelOptions options;
  options.backbone = "mobilenet_v2";
  options.output_stride = 32;
  options.logits_upsampling = upsampling;
  at::manual_seed(0);
  model::DeepLab net(options, classes);
  net->eval();
  return net;
}

TEST(Predictor, UpsamplesLogitsAndProbabilitiesByTheModelsConvention) {
  model::DeepLab net = small_net(3, model::LogitsUpsampling::half_pixel);
  const at::Tensor images = at::rand({1, 3, 37, 45}) * 255;
  PredictOptions predict;
  predict.scales = "0.75,1";
  Predictor predictor(net, predict);
  const at::Tensor probabilities = predictor.probabilities(images);

  at::NoGradGuard no_grad;
  const at::Tensor x = net->normalise(images);
  at::Tensor expected = at::zeros_like(probabilities);
  for (double s : {0.75, 1.0}) {
    // The input pyramid keeps TF's aligned resize; only the logits follow the model (half-pixel).
    const at::Tensor input =
        at::upsample_bilinear2d(x, {model::scale_dimension(37, s), model::scale_dimension(45, s)}, true);
    expected +=
        at::softmax(at::upsample_bilinear2d(net->logits_at_one_scale(input), {37, 45}, false), 1) / 2.0;
  }
  EXPECT_TRUE(at::allclose(probabilities, expected, 1e-5, 1e-6));
  // At another (original) size: the averaged probabilities, upsampled half-pixel too.
  EXPECT_TRUE(at::allclose(predictor.probabilities(images, 50, 61),
                           at::upsample_bilinear2d(expected, {50, 61}, false), 1e-5, 1e-6));
  // The raw logits: one pass at scale 1, upsampled half-pixel.
  EXPECT_TRUE(at::allclose(predictor.logits(images, 50, 61),
                           at::upsample_bilinear2d(net->logits_at_one_scale(x), {50, 61}, false), 1e-5,
                           1e-6));
  EXPECT_EQ(predictor.num_classes(), 3);
}

TEST(PredictOptions, RejectOutputStridesAndScalesByName) {
  PredictOptions options;
  options.output_stride = 12;
  EXPECT_THROW(options.validate(), OptionError);
  options.output_stride = 8;
  options.validate();
  options.scales = "1,-2";
  EXPECT_THROW(options.validate(), OptionError);
  for (const char* scales : {"1e300", "1,8.5", "inf", "nan"}) {
    options.scales = scales;
    EXPECT_THROW(options.validate(), OptionError) << scales;
  }
  options.scales = "0.5,1,8";
  options.validate();
}

// Samples whose labels are the model's own predictions on their valid region, and a class the
// model did not predict on the padding: evaluation must count the valid regions alone.
data::InMemoryDataset self_labelled(Predictor& predictor) {
  data::PackMetadata metadata;
  metadata.num_classes = 3;
  metadata.class_names = {"a", "b", "c"};
  metadata.palette = {{0, 0, 0}, {1, 1, 1}, {2, 2, 2}};
  std::vector<data::PackRecord> records;
  for (int i = 0; i < 3; ++i) {
    const at::Tensor image = at::randint(0, 256, {29, 35, 3}, at::kLong).to(at::kByte);
    const at::Tensor predicted = predictor.predict(image.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat))[0];
    at::Tensor label = ((predicted + 1) % 3).to(at::kByte);
    const int32_t h = 29 - 4 * i, w = 35 - 3 * i;
    label.slice(0, 0, h).slice(1, 0, w).copy_(predicted.slice(0, 0, h).slice(1, 0, w));
    records.push_back({image, label, {h, w}, {h, w}, "s" + std::to_string(i)});
  }
  return data::InMemoryDataset(metadata, std::move(records), "self-labelled samples");
}

TEST(Evaluate, CountsTheValidRegionsOfADatasetInMemory) {
  Predictor predictor(small_net(3, model::LogitsUpsampling::automatic), PredictOptions{});
  at::manual_seed(4);
  const data::InMemoryDataset dataset = self_labelled(predictor);
  distributed::LocalCommunicator alone;
  const EvalResult result = evaluate(predictor, dataset, alone, at::kCPU);
  EXPECT_EQ(result.samples, 3);
  EXPECT_EQ(result.metrics.pixels, 29 * 35 + 25 * 32 + 21 * 29);
  EXPECT_DOUBLE_EQ(result.metrics.pixel_accuracy, 1.0);
  EXPECT_DOUBLE_EQ(result.metrics.mean_iou, 1.0);
  EXPECT_EQ(result.matrix.sum().item<int64_t>(), result.matrix.trace().item<int64_t>());
}

TEST(Evaluate, RefusesADatasetWithOtherClassesNamingIt) {
  Predictor three(small_net(3, model::LogitsUpsampling::automatic), PredictOptions{});
  Predictor four(small_net(4, model::LogitsUpsampling::automatic), PredictOptions{});
  at::manual_seed(5);
  const data::InMemoryDataset dataset = self_labelled(three);
  distributed::LocalCommunicator alone;
  try {
    evaluate(four, dataset, alone, at::kCPU);
    FAIL() << "a 4-class model was evaluated on 3-class data";
  } catch (const UserError& error) {
    EXPECT_NE(error.message().find("self-labelled samples has 3 classes but the model predicts 4"),
              std::string::npos)
        << error.message();
  }
}

// A dataset without samples (a pack can be written empty).
struct NoSamples : data::Dataset {
  int64_t size() const override { return 0; }
  const data::PackMetadata& metadata() const override { return metadata_; }
  data::PackRecord read(int64_t) const override {
    throw InternalError("read of an empty dataset", ATROUS_HERE);
  }
  std::string description() const override { return "pack 'val.h5'"; }
  data::PackMetadata metadata_;
};

TEST(Evaluate, RefusesADatasetWithoutSamplesRatherThanScoringZero) {
  Predictor predictor(small_net(3, model::LogitsUpsampling::automatic), PredictOptions{});
  NoSamples empty;
  empty.metadata_.num_classes = 3;
  distributed::LocalCommunicator alone;
  for (auto check : std::vector<std::function<void()>>{
           [&] { require_samples(empty); }, [&] { evaluate(predictor, empty, alone, at::kCPU); }}) {
    try {
      check();
      ADD_FAILURE() << "an empty dataset was accepted";
    } catch (const UserError& error) {
      EXPECT_NE(error.message().find("pack 'val.h5' holds no samples, so there is nothing to evaluate"),
                std::string::npos)
          << error.message();
    }
  }
}

std::string outputs_error(const data::ImageInputs& inputs) {
  try {
    check_distinct_outputs(inputs, "masks");
  } catch (const UserError& error) {
    return error.message();
  }
  return "";
}

TEST(InferOutputs, TwoInputsThatWouldWriteOneFileAreRefusedNamingBoth) {
  EXPECT_EQ(mask_file_names("city/a"), (std::array<std::string, 2>{"city_a.png", "city_a_overlay.png"}));
  NoSamples pack;  // only its description is used
  const auto file = [](const char* path, const char* name) { return data::ImageInput{path, name}; };
  const auto sample = [&](int64_t index, const char* name) {
    return data::ImageInput{"", name, &pack, index};
  };
  data::ImageInputs inputs;
  inputs.items = {file("p/x.jpg", "x"), file("p/x.jpg.png", "x.jpg"), sample(0, "y")};
  EXPECT_EQ(outputs_error(inputs), "");
  inputs.items = {file("p/x.jpg", "x"), file("q/x.png", "x")};
  EXPECT_EQ(outputs_error(inputs),
            "infer inputs 'p/x.jpg' and 'q/x.png' would both write 'x.png' in infer.out; rename one, or "
            "infer them separately into different infer.out folders");
  inputs.items = {file("a.png", "a"), file("a_overlay.png", "a_overlay")};  // a's overlay is a_overlay.png
  EXPECT_NE(outputs_error(inputs).find("'a.png' and 'a_overlay.png' would both write 'a_overlay.png'"),
            std::string::npos);
  inputs.items = {sample(3, "x"), file("p/x.jpg", "x")};
  EXPECT_NE(
      outputs_error(inputs).find("sample 3 ('x') of pack 'val.h5' and 'p/x.jpg' would both write 'x.png'"),
      std::string::npos);
  inputs.items = {sample(0, "a/b"), sample(1, "a_b")};
  EXPECT_NE(outputs_error(inputs).find("would both write 'a_b.png'"), std::string::npos);
  // Outputs into the inputs' own folder: x.png's mask would replace it (the path is spelled otherwise).
  inputs.items = {file("masks/w.jpg", "w"), file("./masks/../masks/x.png", "x")};
  EXPECT_EQ(outputs_error(inputs),
            "infer input './masks/../masks/x.png' would be replaced by 'x.png', written for "
            "'./masks/../masks/x.png' into infer.out 'masks'; give infer.out a folder of its own");
  inputs.items = {file("masks/w.jpg", "w"), file("masks/x.jpg", "x")};  // beside the inputs, replacing none
  EXPECT_EQ(outputs_error(inputs), "");
  // Names the file system does not take: they failed mid-run, after earlier masks were written.
  inputs.items = {sample(0, "y"), sample(1, "")};
  EXPECT_NE(outputs_error(inputs).find("has an empty name: its mask would be the hidden file '.png'"),
            std::string::npos);
  const std::string long_name(248, 'n');  // the overlay's name, long_name + "_overlay.png", is 260 bytes
  inputs.items = {sample(0, "y"), sample(1, long_name.c_str())};
  EXPECT_NE(outputs_error(inputs).find("its mask's file name would be 260 bytes, more than the 255"),
            std::string::npos)
      << outputs_error(inputs);
}

// eval.checkpoint RUN_DIR or RUN_DIR/checkpoints/latest failed ("is a directory"; "not a zip archive").
TEST(CheckpointInput, ARunDirectoryOrItsLatestPointerStandsForItsLatestCheckpoint) {
  namespace fs = std::filesystem;
  const fs::path run = fs::temp_directory_path() / "atrous_checkpoint_input_test";
  test_support::remove_tree(run.string());
  train::CheckpointContents checkpoint;
  checkpoint.add("model").set("w", at::zeros({2}));
  for (int64_t step : {2, 4}) train::save_checkpoint(run.string(), step, checkpoint, 5);
  const std::string newest = (run / "checkpoints" / "step-4.pt").string();
  for (const fs::path& given :
       {run, fs::path(run.string() + "/"), run / "checkpoints", run / "checkpoints" / "latest"}) {
    const ResolvedCheckpoint resolved = resolve_checkpoint_input(given.string());
    EXPECT_EQ(resolved.path, newest) << given;
    EXPECT_EQ(resolved.how, "the latest checkpoint of run directory '" + run.string() + "'") << given;
  }
  const std::string older = (run / "checkpoints" / "step-2.pt").string();
  EXPECT_EQ(resolve_checkpoint_input(older).path, older);
  EXPECT_EQ(resolve_checkpoint_input(older).how, "");
  fs::create_directories(run / "empty_run" / "checkpoints");
  fs::create_directories(run / "plain");
  const auto refusal = [](const fs::path& given) {
    try {
      resolve_checkpoint_input(given.string());
    } catch (const UserError& error) {
      return error.message();
    }
    return std::string("no error");
  };
  // `latest` given from inside the checkpoints folder stands for the run one level up.
  const fs::path cwd = fs::current_path();
  fs::current_path(run / "checkpoints");
  const std::string from_inside = resolve_checkpoint_input("latest").path;
  fs::current_path(cwd);
  EXPECT_TRUE(fs::equivalent(run / "checkpoints" / from_inside, newest)) << from_inside;
  // A file that happens to be named latest elsewhere is a file as given, not a pointer.
  std::ofstream(run / "plain" / "latest") << "step-4.pt\n";
  EXPECT_EQ(resolve_checkpoint_input((run / "plain" / "latest").string()).path,
            (run / "plain" / "latest").string());
  EXPECT_NE(refusal(run / "empty_run").find("holds no checkpoint yet"), std::string::npos);
  EXPECT_NE(refusal(run / "plain").find("is a folder that is neither a run directory"), std::string::npos);
  test_support::remove_tree(run.string());
}

}  // namespace
}  // namespace atrous::eval
