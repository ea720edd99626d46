// The training loop's hook protocol (train/training_hook.h), on every rank of a real job: a hook
// handed to the Trainer hears on_start once, on_step_end after every step with the agreed losses
// (the same on every rank), on_checkpoint after each checkpoint that ckpt.every_steps and the last
// step call for (with the file on rank 0, nothing elsewhere), and on_finish once; and the loop
// hands hooks the outcome of a real step (images of the global batch, a finite loss, an lr).

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "../unit/scratch_files.h"
#include "atrous/core/log.h"
#include "atrous/data/pack_writer.h"
#include "atrous/distributed/world.h"
#include "atrous/train/trainer.h"
#include "mpi_test_world.h"
#include "scratch_pack.h"

namespace atrous::train {
namespace {

struct RecordingHook : TrainingHook {
  std::vector<std::string> events;
  std::vector<StepOutcome> outcomes;
  std::vector<CheckpointWritten> checkpoints;
  void on_start(const RunStart& start) override {
    events.push_back("start " + std::to_string(start.step) + "/" + std::to_string(start.total_steps));
  }
  void on_step_end(const StepOutcome& outcome) override {
    events.push_back("step " + std::to_string(outcome.step));
    outcomes.push_back(outcome);
  }
  void on_checkpoint(const CheckpointWritten& checkpoint) override {
    events.push_back(std::string("checkpoint ") + std::to_string(checkpoint.step) + " " +
                     checkpoint_reason_name(checkpoint.reason));
    checkpoints.push_back(checkpoint);
  }
  void on_finish(const RunEnd& end) override {
    events.push_back("finish " + std::to_string(end.step) + (end.preempted ? " preempted" : ""));
  }
};

// invalid_label: a label value, neither one of the three classes nor the ignore label, that every
// pixel gets instead (a pack that atrous pack would have refused), so that any crop holds it; 0 for
// none.
void write_pack(const std::string& path, int invalid_label = 0) {
  data::PackWriter writer(path, test_support::three_class_metadata(40, 40, "train"), 0);
  at::manual_seed(5);
  for (int i = 0; i < 16; ++i) {
    const at::Tensor label = at::randint(0, 3, {40, 40}, at::kByte);
    if (invalid_label != 0) label.fill_(invalid_label);
    const at::Tensor image =
        (label.unsqueeze(2).to(at::kFloat) * 60 + at::rand({40, 40, 3}) * 80).to(at::kByte);
    writer.append("s" + std::to_string(i), image, label, {40, 40}, {40, 40});
  }
  writer.commit();
}

// A small MobileNetV2 training of `steps` on `pack`, checkpoints every 2 steps into `run_dir`.
TrainerOptions small_training(const std::string& pack, const std::string& run_dir, int64_t steps) {
  TrainerOptions options;
  options.data.train_pack = pack;
  options.run.run_dir = run_dir;
  options.run.steps = steps;
  options.run.resume = "none";
  options.checkpoint.every_steps = 2;
  options.model.backbone = "mobilenet_v2";
  options.model.atrous_rates = "2,4";
  options.loader.batch_size = 2;
  options.loader.reader_threads = 1;
  options.augment.crop_size = 33;
  return options;
}

// The run folder is rank 0's alone (only rank 0 writes); its name just has to be fresh.
std::string fresh_run_dir(const std::string& stem) {
  return (std::filesystem::temp_directory_path() / (stem + "_" + std::to_string(getpid()))).string();
}

TEST(TrainingHooks, EveryRankHearsEveryStepCheckpointAndTheEndInOrder) {
  const distributed::World& world = test_support::test_world();
  test_support::ScratchFile pack("training_hooks_pack");  // one per rank, the same samples
  write_pack(pack.path());
  const std::string run_dir = fresh_run_dir("training_hooks_run");
  const TrainerOptions options = small_training(pack.path(), run_dir, 5);
  std::ostringstream out, err;
  Logger log(LogOptions{}, world.is_root(), out, err);

  auto hook = std::make_unique<RecordingHook>();
  RecordingHook& recorded = *hook;
  std::vector<std::unique_ptr<TrainingHook>> hooks;
  hooks.push_back(std::move(hook));
  Trainer trainer(prepare_training(options, world, log, "[train]\nsteps = 5\n"), nullptr, std::move(hooks));
  ASSERT_EQ(trainer.run(), 0);

  const std::vector<std::string> expected{"start 0/5",
                                          "step 1",
                                          "step 2",
                                          "checkpoint 2 every_steps",
                                          "step 3",
                                          "step 4",
                                          "checkpoint 4 every_steps",
                                          "step 5",
                                          "checkpoint 5 final",
                                          "finish 5"};
  EXPECT_EQ(recorded.events, expected);
  for (const StepOutcome& outcome : recorded.outcomes) {
    EXPECT_TRUE(outcome.applied);
    EXPECT_EQ(outcome.images, 2 * world.size());
    EXPECT_TRUE(std::isfinite(outcome.agreement.total) && outcome.agreement.total > 0);
    EXPECT_GT(outcome.lr, 0);
    // The agreed loss is the same number on every rank.
    at::Tensor total = at::tensor({outcome.agreement.total}, at::kDouble);
    at::Tensor max = total.clone(), min = total.clone();
    test_support::test_communicator().allreduce(max, distributed::ReduceOp::max)->wait();
    test_support::test_communicator().allreduce(min, distributed::ReduceOp::min)->wait();
    EXPECT_EQ(max.item<double>(), min.item<double>());
  }
  for (const CheckpointWritten& checkpoint : recorded.checkpoints) {
    if (world.is_root())
      EXPECT_TRUE(std::filesystem::is_regular_file(checkpoint.path)) << checkpoint.path;
    else
      EXPECT_TRUE(checkpoint.path.empty());
  }
  if (world.is_root()) test_support::remove_tree(run_dir);
}

// A label that is neither a class nor the ignore label in the last rank's data: that rank's step
// fails when its loss is read, and every rank stops at that step with a ReportedError (the last
// rank's message printed by itself), instead of the other ranks waiting in the next collective.
TEST(TrainingHooks, AnInvalidLabelOnOneRankStopsEveryRankAtThatStep) {
  const distributed::World& world = test_support::test_world();
  test_support::ScratchFile pack("invalid_label_pack");
  write_pack(pack.path(), world.rank() == world.size() - 1 ? 7 : 0);
  const std::string run_dir = fresh_run_dir("invalid_label_run");
  std::ostringstream out, err;
  Logger log(LogOptions{}, world.is_root(), out, err);
  auto hook = std::make_unique<RecordingHook>();
  RecordingHook& recorded = *hook;
  std::vector<std::unique_ptr<TrainingHook>> hooks;
  hooks.push_back(std::move(hook));
  Trainer trainer(
      prepare_training(small_training(pack.path(), run_dir, 3), world, log, "[train]\nsteps = 3\n"), nullptr,
      std::move(hooks));
  EXPECT_THROW(trainer.run(), ReportedError);
  EXPECT_EQ(recorded.events, std::vector<std::string>{"start 0/3"});  // not even step 1 was applied
  if (world.is_root()) test_support::remove_tree(run_dir);
}

}  // namespace
}  // namespace atrous::train
