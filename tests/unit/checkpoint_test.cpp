// Checkpoint files (train/checkpoint.h): the round trip of every kind of section value, damaged and
// foreign files refused by name, pruning and the `latest` pointer, and checkpoints of format version 1
// (before optimizers were registered) read into today's sections, the velocities as sgd's state.
// The owners of the sections: checkpoint_section_test.cpp.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/core/log.h"
#include "atrous/train/checkpoint.h"
#include "atrous/train/data_position.h"
#include "atrous/train/run_identity.h"
#include "atrous/train/sgd_momentum.h"
#include "scratch_files.h"
#include "user_error_message.h"

namespace atrous::train {
namespace {

// A checkpoint of one section "model" holding tensor `a`.
CheckpointContents model_only(const at::Tensor& a) {
  CheckpointContents contents;
  contents.add("model").set("a", a);
  return contents;
}

std::string save_error(const std::string& dir, int64_t step, const CheckpointContents& contents) {
  return test_support::refusal([&] { save_checkpoint(dir, step, contents, 1); });
}

// A diverged run (optim.weight_decay 1e308 made 66 tensors infinite at step 3) wrote its checkpoint
// and pruned the good one, with ckpt.keep 1: no resume was left. Now nothing is written or pruned.
TEST(Checkpoint, NonFiniteStateIsNeverWrittenAndTheGoodCheckpointStays) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_checkpoint_diverged";
  test_support::remove_tree(dir.string());
  CheckpointContents checkpoint;
  checkpoint.add("model").set("a.weight", at::ones({3, 2}));
  checkpoint.add("model").set("a.steps", at::ones({1}, at::kLong));
  checkpoint.add("optimizer").set("state", SectionValues::Tensors{{"momentum/a.weight", at::zeros({3, 2})}});
  checkpoint.add("loss_scaler").set("scale", 1.0);
  save_checkpoint(dir.string(), 2, checkpoint, 1);
  CheckpointContents infinite = checkpoint;
  infinite.add("model").set("a.weight", at::full({3, 2}, std::numeric_limits<float>::infinity()));
  const std::string message = save_error(dir.string(), 3, infinite);
  EXPECT_NE(message.find("at step 3 1 values are not finite (inf or NaN), the first a.weight. No checkpoint "
                         "was written"),
            std::string::npos)
      << message;
  CheckpointContents nan_state = checkpoint;
  nan_state.add("optimizer")
      .set("state", SectionValues::Tensors{{"momentum/a.weight", at::full({3, 2}, NAN)}});
  EXPECT_NE(save_error(dir.string(), 3, nan_state).find("the first optimizer state momentum/a.weight"),
            std::string::npos);
  CheckpointContents nan_scale = checkpoint;
  nan_scale.add("loss_scaler").set("scale", std::nan(""));
  EXPECT_NE(save_error(dir.string(), 3, nan_scale).find("the first loss_scaler scale"), std::string::npos);
  CheckpointContents both = infinite;  // the weights are named first, whatever the section names' order
  both.add("loss_scaler").set("scale", std::nan(""));
  EXPECT_NE(
      save_error(dir.string(), 3, both).find("2 values are not finite (inf or NaN), the first a.weight"),
      std::string::npos)
      << save_error(dir.string(), 3, both);
  EXPECT_FALSE(std::filesystem::exists(dir / "checkpoints" / "step-3.pt"));
  EXPECT_EQ(latest_checkpoint(dir.string()).path, (dir / "checkpoints" / "step-2.pt").string());
  EXPECT_TRUE(at::equal(
      load_checkpoint((dir / "checkpoints" / "step-2.pt").string()).section("model").tensor("a.weight"),
      at::ones({3, 2})));
  test_support::remove_tree(dir.string());
}

// Every kind of value a section holds comes back as written, in its own section; a later checkpoint
// prunes the oldest; a truncated file is refused naming it.
TEST(Checkpoint, RoundTripKeepsTheNewestAndRefusesTruncatedFiles) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_checkpoint_test";
  test_support::remove_tree(dir.string());
  CheckpointContents checkpoint;
  SectionValues& values = checkpoint.add("some_owner");
  values.set("count", int64_t(12));
  values.set("rate", 0.25);
  values.set("name", std::string("lamb"));
  values.set("weight", at::randn({3, 2}));
  values.set("moments", SectionValues::Tensors{{"exp_avg/a", at::randn({4})}, {"exp_avg/b", at::randn({1})}});
  checkpoint.add("empty");
  for (int64_t step : {10, 20, 30}) save_checkpoint(dir.string(), step, checkpoint, 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "checkpoints" / "step-10.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir / "checkpoints" / "step-20.pt"));
  const std::string latest = latest_checkpoint(dir.string()).path;
  EXPECT_EQ(latest, (dir / "checkpoints" / "step-30.pt").string());
  EXPECT_EQ(latest_checkpoint(dir.string()).note, "");
  const CheckpointContents loaded = load_checkpoint(latest);
  EXPECT_EQ(loaded.file(), latest);
  ASSERT_EQ(loaded.sections().size(), 2u);
  EXPECT_TRUE(loaded.section("empty").values().empty());
  const SectionValues& read = loaded.section("some_owner");
  EXPECT_EQ(read.integer("count"), 12);
  EXPECT_EQ(read.real("rate"), 0.25);
  EXPECT_EQ(read.text("name"), "lamb");
  EXPECT_TRUE(at::equal(read.tensor("weight"), values.tensor("weight")));
  ASSERT_EQ(read.tensors("moments").size(), 2u);
  EXPECT_TRUE(at::equal(read.tensors("moments").at("exp_avg/a"), values.tensors("moments").at("exp_avg/a")));
  EXPECT_EQ(read.tensor_values().size(), 1u) << "only values that are tensors";

  std::ifstream whole(latest, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  const std::string truncated = (dir / "truncated.pt").string();
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  try {
    load_checkpoint(truncated);
    FAIL();
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("truncated.pt"), std::string::npos) << error.what();
  }
  test_support::remove_tree(dir.string());
}

// 4 KiB flipped in the middle of a checkpoint (a bad disk, a bad copy): refused when read, by the
// CRC-32 its zip keeps for every entry, naming the file, never loaded as different weights.
TEST(Checkpoint, ChangedBytesAreRefusedWhenReadNotTrainedOn) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_checkpoint_crc_test";
  test_support::remove_tree(dir.string());
  CheckpointContents checkpoint = model_only(at::randn({64, 64, 3}));
  checkpoint.add("optimizer").set("state", SectionValues::Tensors{{"velocity/a", at::randn({64, 64, 3})}});
  const std::string path = save_checkpoint(dir.string(), 5, checkpoint, 1);
  EXPECT_NO_THROW(load_checkpoint(path));
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(0, std::ios::end);
  const std::streamoff size = file.tellg();
  ASSERT_GT(size, 3 * 4096);
  std::string block(4096, '\0');
  file.seekg(size / 2);
  file.read(block.data(), std::streamsize(block.size()));
  for (char& byte : block) byte = char(byte ^ 0x21);
  file.seekp(size / 2);
  file.write(block.data(), std::streamsize(block.size()));
  file.close();
  try {
    load_checkpoint(path);
    FAIL() << "a changed checkpoint loaded";
  } catch (const UserError& error) {
    EXPECT_NE(error.message().find("checkpoint '" + path + "' is damaged"), std::string::npos)
        << error.message();
    EXPECT_NE(error.message().find("fails its CRC-32 check"), std::string::npos) << error.message();
  }
  test_support::remove_tree(dir.string());
}

// A run started afresh (train.resume none) in a folder holding a later run's checkpoints prunes only
// its own older ones, and `latest` names what it wrote.
TEST(Checkpoint, PruningNeverDeletesALaterStepOrWhatLatestNames) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_checkpoint_prune_test";
  test_support::remove_tree(dir.string());
  const CheckpointContents checkpoint = model_only(at::zeros({2}));
  save_checkpoint(dir.string(), 1000, checkpoint, 2);
  for (int64_t step : {10, 20, 30}) save_checkpoint(dir.string(), step, checkpoint, 2);
  const std::filesystem::path folder = dir / "checkpoints";
  EXPECT_TRUE(std::filesystem::exists(folder / "step-1000.pt")) << "another run's checkpoint";
  EXPECT_FALSE(std::filesystem::exists(folder / "step-10.pt"));
  EXPECT_TRUE(std::filesystem::exists(folder / "step-20.pt"));
  EXPECT_TRUE(std::filesystem::exists(folder / "step-30.pt"));
  EXPECT_EQ(latest_checkpoint(dir.string()).path, (folder / "step-30.pt").string());
  test_support::remove_tree(dir.string());
}

// Only files named exactly step-<n>.pt are checkpoints: a user's copies next to them (step-2-best.pt,
// step-9.pt.bak, step-x.pt) are neither pruned nor taken as the newest checkpoint.
TEST(Checkpoint, PruningAndTheNewestCheckpointIgnoreFilesNotNamedStepN) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_checkpoint_names_test";
  test_support::remove_tree(dir.string());
  const CheckpointContents checkpoint = model_only(at::zeros({2}));
  save_checkpoint(dir.string(), 2, checkpoint, 1);
  const std::filesystem::path folder = dir / "checkpoints";
  const std::vector<std::string> copies = {"step-2-best.pt", "step-9.pt.bak", "step-x.pt",
                                           "step-.pt",       "step-02.pt",    "step-99999999999999999999.pt"};
  for (const std::string& copy : copies) std::filesystem::copy_file(folder / "step-2.pt", folder / copy);
  for (int64_t step : {4, 6}) save_checkpoint(dir.string(), step, checkpoint, 1);
  EXPECT_FALSE(std::filesystem::exists(folder / "step-2.pt"));
  EXPECT_FALSE(std::filesystem::exists(folder / "step-4.pt"));
  for (const std::string& copy : copies) EXPECT_TRUE(std::filesystem::exists(folder / copy)) << copy;
  std::filesystem::remove(folder / "latest");
  EXPECT_EQ(latest_checkpoint(dir.string()).path, (folder / "step-6.pt").string());
  test_support::remove_tree(dir.string());
}

// `latest` emptied, deleted or dangling: the run resumes from its newest checkpoint and says why,
// instead of silently starting again from step 0.
TEST(Checkpoint, ABrokenLatestPointerFallsBackToTheNewestCheckpointWithANote) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_checkpoint_latest_test";
  test_support::remove_tree(dir.string());
  EXPECT_EQ(latest_checkpoint(dir.string()).path, "") << "no run yet";
  const CheckpointContents checkpoint = model_only(at::zeros({2}));
  for (int64_t step : {5, 40, 7}) save_checkpoint(dir.string(), step, checkpoint, 5);
  const std::filesystem::path folder = dir / "checkpoints";
  const std::string newest = (folder / "step-40.pt").string();
  std::ofstream(folder / "latest", std::ios::trunc).flush();
  LatestCheckpoint latest = latest_checkpoint(dir.string());
  EXPECT_EQ(latest.path, newest);
  EXPECT_NE(latest.note.find("latest is empty; the newest checkpoint there is step-40.pt"), std::string::npos)
      << latest.note;
  std::ofstream(folder / "latest", std::ios::trunc) << "step-99.pt\n";
  latest = latest_checkpoint(dir.string());
  EXPECT_EQ(latest.path, newest);
  EXPECT_NE(latest.note.find("names 'step-99.pt', which does not exist"), std::string::npos) << latest.note;
  std::ofstream(dir / "elsewhere.pt") << "not in the run's checkpoints";
  std::ofstream(folder / "latest", std::ios::trunc) << "../elsewhere.pt\n";  // it was followed out
  latest = latest_checkpoint(dir.string());
  EXPECT_EQ(latest.path, newest);
  EXPECT_NE(latest.note.find("names '../elsewhere.pt', which is not a file name in that folder"),
            std::string::npos)
      << latest.note;
  std::filesystem::remove(folder / "latest");
  latest = latest_checkpoint(dir.string());
  EXPECT_EQ(latest.path, newest);
  EXPECT_NE(latest.note.find("latest is missing"), std::string::npos) << latest.note;
  test_support::remove_tree(dir.string());
}

// `latest` left behind after every checkpoint was removed: refused (it silently started again at
// step 0 and dropped the earlier run's metrics), saying what to do.
TEST(Checkpoint, ALatestPointerWithNoCheckpointLeftIsRefused) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_checkpoint_lost_test";
  test_support::remove_tree(dir.string());
  save_checkpoint(dir.string(), 7, model_only(at::zeros({2})), 1);
  std::filesystem::remove(dir / "checkpoints" / "step-7.pt");
  try {
    latest_checkpoint(dir.string());
    ADD_FAILURE() << "no UserError";
  } catch (const UserError& error) {
    EXPECT_NE(error.message().find("names 'step-7.pt') but none is left"), std::string::npos)
        << error.message();
    EXPECT_NE(error.message().find("new train.run_dir"), std::string::npos) << error.message();
  }
  test_support::remove_tree(dir.string());
}

// Entries of another type (a dict another program wrote, or an edited one) are refused by name, not by
// LibTorch's "INTERNAL ASSERT FAILED ... please report a bug to PyTorch" from toInt() and the like.
TEST(Checkpoint, EntriesOfAnotherTypeAreRefusedByName) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_checkpoint_types_test";
  test_support::remove_tree(dir.string());
  std::filesystem::create_directories(dir);
  const auto refusal = [&](const char* key, const c10::IValue& value) -> std::string {
    c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
    dict.insert("format", std::string("atrous-checkpoint"));
    for (const char* number : {"version", "step", "epoch", "position", "world_size", "seed"})
      dict.insert(number, int64_t(1));
    dict.insert("config", std::string("[train]\n"));
    c10::impl::GenericDict tensors(c10::StringType::get(), c10::TensorType::get());
    tensors.insert("w", at::zeros({2}));
    dict.insert("model", tensors);
    dict.insert("velocity", tensors);
    dict.insert_or_assign(key, value);
    const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
    const std::string path = (dir / (std::string(key) + ".pt")).string();
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    try {  // read, and restored by the owners that check ranges (the file's seed: no seed error)
      const CheckpointContents loaded = load_checkpoint(path);
      std::ostringstream out, err;
      Logger log(LogOptions{}, true, out, err);
      DataPosition(loaded.section("data").integer("seed"), 1, log).restore(loaded.section("data"));
      RunIdentity("[train]\n", log).restore(loaded.section("run"));
    } catch (const UserError& error) {
      return error.message();
    }
    return "";
  };
  EXPECT_NE(refusal("version", std::string("1")).find("'version' is not an integer"), std::string::npos);
  EXPECT_NE(refusal("step", 2.5).find("'step' is not an integer"), std::string::npos);
  EXPECT_NE(refusal("config", int64_t(3)).find("'config' is not text"), std::string::npos);
  c10::impl::GenericDict numbers(c10::StringType::get(), c10::AnyType::get());
  numbers.insert("w", 1.0);
  EXPECT_NE(refusal("model", numbers).find("entry 'model' is not a dict of tensors"), std::string::npos);
  // Values no run writes: a diverged run's weights (eval reported mIoU 4.2% for NaN weights, exit 0),
  // a negative step, no ranks.
  c10::impl::GenericDict infinite(c10::StringType::get(), c10::TensorType::get());
  infinite.insert("w", at::full({2}, std::numeric_limits<float>::infinity()));
  EXPECT_NE(refusal("model", infinite).find("comes from a diverged run: 1 values are not finite"),
            std::string::npos);
  EXPECT_NE(refusal("step", int64_t(-4)).find("step -4 is not a training position"), std::string::npos);
  EXPECT_NE(refusal("world_size", int64_t(0)).find("epoch 1, position 1 and world_size 0 are not a training"),
            std::string::npos);
  EXPECT_EQ(refusal("seed", int64_t(7)), "") << "the same file with every entry of its type";
  test_support::remove_tree(dir.string());
}

// A checkpoint exactly as version 1 wrote it (main before optimizers were registered: the entries
// below, `velocity` a dict of SGD momentum buffers by parameter name): read as optimizer sgd's
// state, which SgdMomentum takes, so such a run resumes with the velocities it saved.
TEST(Checkpoint, AVersionOneCheckpointResumesItsVelocitiesAsSgdState) {
  const std::string path = (std::filesystem::temp_directory_path() / "atrous_checkpoint_v1.pt").string();
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("format", std::string("atrous-checkpoint"));
  dict.insert("version", int64_t(1));
  for (const char* number : {"step", "epoch", "position", "world_size", "seed"})
    dict.insert(number, int64_t(3));
  dict.insert("config", std::string("[train]\nsteps = 5\n"));
  c10::impl::GenericDict model(c10::StringType::get(), c10::TensorType::get());
  model.insert("w", at::ones({2, 3}));
  dict.insert("model", model);
  c10::impl::GenericDict velocity(c10::StringType::get(), c10::TensorType::get());
  const at::Tensor saved = at::arange(6, at::kFloat).view({2, 3});
  velocity.insert("w", saved);
  dict.insert("velocity", velocity);
  dict.insert("loss_scale", 0.0);
  dict.insert("loss_scale_good_steps", int64_t(0));
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));

  const CheckpointContents loaded = load_checkpoint(path);
  std::filesystem::remove(path);
  EXPECT_EQ(loaded.section("run").integer("step"), 3);
  EXPECT_EQ(loaded.section("optimizer").text("name"), "sgd");
  EXPECT_EQ(loaded.section("optimizer").integer("steps"), 0);
  ASSERT_EQ(loaded.section("optimizer").tensors("state").count("velocity/w"), 1u);
  EXPECT_EQ(loaded.section("loss_scaler").real("scale"), 0.0);
  at::Tensor w = at::zeros({2, 3}).requires_grad_();
  SgdMomentum sgd({{"w", w, true, 1.0}}, OptimizerOptions{}, 0.0);
  sgd.restore(loaded.section("optimizer"));
  EXPECT_TRUE(at::equal(sgd.velocity().at("w"), saved));
  w.mutable_grad() = at::ones({2, 3});
  sgd.step(1.0);  // v = 0.9 v + g: the loaded velocity is used, not restarted
  EXPECT_TRUE(at::allclose(w.detach(), -(saved * 0.9 + 1)));
}

TEST(Checkpoint, ADirectoryIsRefusedByPathAndSaysWhatToGive) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  try {
    load_checkpoint(dir);
    FAIL() << "a directory loaded as a checkpoint";
  } catch (const UserError& error) {
    EXPECT_NE(error.message().find("checkpoint '" + dir + "' is a directory"), std::string::npos)
        << error.message();
    EXPECT_NE(error.message().find("train.resume auto"), std::string::npos) << error.message();
  }
}

}  // namespace
}  // namespace atrous::train
