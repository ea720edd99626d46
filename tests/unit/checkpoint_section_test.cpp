// Checkpoint sections (train/checkpoint_section.h) and their owners: every owner restores what it
// saved through a file; a missing section or a value of another type is refused by name; the data
// position across world sizes and seeds; the run identity's rule on changed options; and a file of
// format version 2, as main wrote it before sections (tests/unit/fixtures/checkpoint-v2.pt), read
// into today's sections and restored by today's owners.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "atrous/core/error.h"
#include "atrous/core/log.h"
#include "atrous/train/checkpoint.h"
#include "atrous/train/data_position.h"
#include "atrous/train/loss_scaler.h"
#include "atrous/train/run_identity.h"
#include "atrous/train/sgd_momentum.h"
#include "scratch_files.h"
#include "user_error_message.h"

namespace atrous::train {
namespace {

struct QuietLog {
  std::ostringstream out, err;
  Logger log{LogOptions{}, true, out, err};
};

using test_support::refusal;

TEST(CheckpointSections, EveryOwnerRestoresWhatItSavedThroughAFile) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_checkpoint_sections";
  test_support::remove_tree(dir.string());
  QuietLog quiet;
  const std::string config = "[optim]\nlr = 0.1\n";
  RunIdentity run(config, quiet.log);
  run.set_step(7);
  DataPosition data(3, 2, quiet.log);
  data.advance_to(1, 8);
  LossScaler scaler(true);
  scaler.restore(1024, 5);
  at::Tensor w = at::zeros({2, 3}).requires_grad_();
  SgdMomentum sgd({{"w", w, true, 1.0}}, OptimizerOptions{}, 0.0);
  w.mutable_grad() = at::arange(6, at::kFloat).view({2, 3});
  sgd.step(0.5);
  CheckpointSections sections;
  sections.add("data", data);
  sections.add("run", run);
  sections.add("optimizer", sgd);
  sections.add("loss_scaler", scaler);
  const std::string path = save_checkpoint(dir.string(), run.step(), sections.collect(), 1);

  RunIdentity run_again(config, quiet.log);
  DataPosition data_again(3, 2, quiet.log);
  LossScaler scaler_again(true);
  at::Tensor w_again = at::zeros({2, 3}).requires_grad_();
  SgdMomentum sgd_again({{"w", w_again, true, 1.0}}, OptimizerOptions{}, 0.0);
  CheckpointSections again;
  again.add("data", data_again);
  again.add("run", run_again);
  again.add("optimizer", sgd_again);
  again.add("loss_scaler", scaler_again);
  again.restore(load_checkpoint(path));
  EXPECT_EQ(run_again.step(), 7);
  EXPECT_EQ(data_again.epoch(), 1);
  EXPECT_EQ(data_again.position(), 8);
  EXPECT_EQ(scaler_again.scale(), 1024);
  EXPECT_EQ(scaler_again.good_steps(), 5);
  EXPECT_EQ(sgd_again.steps(), 1);
  EXPECT_TRUE(at::equal(sgd_again.velocity().at("w"), sgd.velocity().at("w")));
  EXPECT_EQ(quiet.out.str() + quiet.err.str(), "") << "nothing changed, nothing to warn about";
  test_support::remove_tree(dir.string());
}

TEST(CheckpointSections, AMissingSectionOrAValueOfAnotherTypeIsRefusedNamingTheFile) {
  CheckpointContents contents("run/checkpoints/step-4.pt");
  contents.add("loss_scaler").set("scale", std::string("1024"));
  contents.add("loss_scaler").set("good_steps", int64_t(2));
  LossScaler scaler(true);
  LossScaler other(true);
  CheckpointSections sections;
  sections.add("loss_scaler", scaler);
  EXPECT_NE(refusal([&] { sections.restore(contents); })
                .find("'run/checkpoints/step-4.pt' is not an atrous checkpoint this build reads: 'scale' in "
                      "section 'loss_scaler' is not a number"),
            std::string::npos)
      << refusal([&] { sections.restore(contents); });
  sections.add("other_scaler", other);
  contents.add("loss_scaler").set("scale", 8.0);
  EXPECT_NE(refusal([&] { sections.restore(contents); }).find("it has no section 'other_scaler'"),
            std::string::npos);
  EXPECT_THROW(sections.add("loss_scaler", other), InternalError) << "one owner per section";
}

TEST(DataPosition, AnotherWorldSizeResumesAtTheSameSamplesOrIsRefused) {
  QuietLog quiet;
  DataPosition written(3, 2, quiet.log);
  written.advance_to(1, 8);  // 16 samples of epoch 1 consumed by 2 ranks
  SectionValues values("data", "step-9.pt");
  written.save(values);
  DataPosition four(3, 4, quiet.log);
  four.restore(values);
  EXPECT_EQ(four.epoch(), 1);
  EXPECT_EQ(four.position(), 4);
  EXPECT_NE(quiet.err.str().find("resuming a run of 2 ranks on 4 ranks"), std::string::npos)
      << quiet.err.str();
  EXPECT_NE(refusal([&] {
              DataPosition(3, 3, quiet.log).restore(values);
            }).find("written by 2 ranks 8 samples into epoch 1; those do not divide among 3 ranks"),
            std::string::npos);
  EXPECT_NE(refusal([&] {
              DataPosition(5, 2, quiet.log).restore(values);
            }).find("checkpoint 'step-9.pt' was trained with data.seed = 3, not 5"),
            std::string::npos);
  values.set("position", int64_t(-1));
  EXPECT_NE(
      refusal([&] { DataPosition(3, 2, quiet.log).restore(values); }).find("are not a training position"),
      std::string::npos);
}

TEST(RunIdentity, AChangedNetworkIsRefusedAndOtherChangesAreListed) {
  QuietLog quiet;
  SectionValues values("run", "step-9.pt");
  RunIdentity("[model]\nbackbone = resnet50\n[optim]\nlr = 0.1\n", quiet.log).save(values);
  RunIdentity longer("[model]\nbackbone = resnet50\n[optim]\nlr = 0.2\n", quiet.log);
  longer.restore(values);
  EXPECT_NE(
      quiet.err.str().find("resuming with options changed since step-9.pt was written: optim.lr 0.1 -> 0.2"),
      std::string::npos)
      << quiet.err.str();
  RunIdentity other_model("[model]\nbackbone = resnet101\n[optim]\nlr = 0.1\n", quiet.log);
  EXPECT_NE(refusal([&] { other_model.restore(values); }).find("model.backbone"), std::string::npos);
}

// A checkpoint as main wrote it in format version 2 (one flat dict), made with this tree's parent by
// save_checkpoint: step 12, epoch 1, position 8, world_size 2, seed 3, conv.weight = arange(6)/4,
// sgd's velocity 0.125 after 11 updates, no loss scale.
TEST(CheckpointSections, AVersionTwoFileLoadsIntoTodaysSectionsAndOwners) {
  const std::string path = std::string(ATROUS_UNIT_FIXTURES) + "/checkpoint-v2.pt";
  const CheckpointContents loaded = load_checkpoint(path);
  EXPECT_EQ(loaded.section("run").integer("step"), 12);
  EXPECT_EQ(RunIdentity::stored_config(loaded), "[optim]\nlr = 0.1\n");
  const SectionValues& model = loaded.section("model");
  ASSERT_EQ(model.tensor_values().size(), 3u);
  EXPECT_TRUE(at::equal(model.tensor("conv.weight"), at::arange(6, at::kFloat).view({2, 3}) / 4));
  EXPECT_EQ(model.tensor("bn.num_batches_tracked").item<int64_t>(), 7);
  EXPECT_EQ(loaded.section("loss_scaler").real("scale"), 0.0);
  EXPECT_EQ(loaded.section("loss_scaler").integer("good_steps"), 0);

  QuietLog quiet;
  DataPosition data(3, 2, quiet.log);
  RunIdentity run("[optim]\nlr = 0.1\n", quiet.log);
  at::Tensor w = at::zeros({2, 3}).requires_grad_();
  SgdMomentum sgd({{"conv.weight", w, true, 1.0}}, OptimizerOptions{}, 0.0);
  CheckpointSections sections;
  sections.add("data", data);
  sections.add("run", run);
  sections.add("optimizer", sgd);
  sections.restore(loaded);
  EXPECT_EQ(run.step(), 12);
  EXPECT_EQ(data.epoch(), 1);
  EXPECT_EQ(data.position(), 8);
  EXPECT_EQ(sgd.steps(), 11);
  EXPECT_TRUE(at::equal(sgd.velocity().at("conv.weight"), at::full({2, 3}, 0.125f)));
}

}  // namespace
}  // namespace atrous::train
