// Global top-k scope: N ranks x b images must give the loss of one process on the concatenated
// batch of N * b images, and, once gradients are averaged over ranks, its gradient.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "atrous/distributed/local_communicator.h"
#include "atrous/distributed/mpi_communicator.h"
#include "atrous/loss/segmentation_loss.h"
#include "mpi_test_world.h"

namespace atrous::loss {
namespace {

using atrous::test_support::test_communicator;
using atrous::test_support::test_world;

struct Batch {
  std::vector<at::Tensor> logits;  // one per output entry, [N*b, C, h, w]
  at::Tensor labels;               // [N*b, H, W]
};

// The same global batch on every rank (same seed). quantised: logits on a coarse grid, so that
// many pixels tie. Rank 1 gets only ignored labels when asked, for uneven valid counts.
Batch global_batch(int ranks, int per_rank, bool quantised, bool rank_one_ignored) {
  at::manual_seed(11);
  const int64_t images = ranks * per_rank, classes = 5;
  Batch batch;
  for (int64_t size : {6, 11}) {  // a small scale and the merged logits at label size
    at::Tensor logits = at::randn({images, classes, size, size}) * 2;
    if (quantised) logits = at::round(logits);
    batch.logits.push_back(logits);
  }
  batch.labels = at::randint(0, classes, {images, 11, 11}, at::kLong);
  batch.labels.masked_fill_(at::rand({images, 11, 11}) < 0.2, 255);
  if (rank_one_ignored && ranks > 1) batch.labels.narrow(0, per_rank, per_rank).fill_(255);
  return batch;
}

struct Outcome {
  LossResult result;
  std::vector<at::Tensor> gradients;
};

Outcome run(const SegmentationLoss& loss, const std::vector<at::Tensor>& logits, const at::Tensor& labels,
            int64_t step) {
  model::ScaleOutputs outputs;
  std::vector<at::Tensor> leaves;
  for (size_t i = 0; i < logits.size(); ++i) {
    leaves.push_back(logits[i].clone().requires_grad_(true));
    outputs.push_back({i + 1 == logits.size() ? "merged" : "scale_0.5", leaves.back()});
  }
  Outcome outcome{loss(outputs, labels, step), {}};
  outcome.result.backward.backward();
  for (auto& leaf : leaves) outcome.gradients.push_back(leaf.grad());
  return outcome;
}

struct Setting {
  double p;
  int mining_step;
  int64_t step;
  bool upsample;
  std::string weights;
  bool quantised;
  bool rank_one_ignored;
};

TEST(GlobalTopK, RanksTogetherEqualOneProcessOnTheConcatenatedBatch) {
  distributed::MpiCommunicator& comm = test_communicator();
  const int ranks = comm.size(), per_rank = 2;
  const std::vector<Setting> settings = {{1.0, 0, 0, true, "1", false, false},
                                         {0.25, 0, 0, true, "1", false, false},
                                         {0.25, 100, 50, true, "1", false, false},
                                         {0.25, 0, 0, false, "1", false, false},
                                         {0.3, 0, 0, true, "1,2,0.5,1,0", false, true},
                                         {0.25, 0, 0, true, "1", true, false},
                                         {1.0, 0, 0, false, "1", true, true}};
  for (const Setting& s : settings) {
    LossOptions options;
    options.top_k_percent_pixels = s.p;
    options.hard_example_mining_step = s.mining_step;
    options.upsample_logits = s.upsample;
    options.label_weights = s.weights;
    const std::string where = ::testing::PrintToString(s.p) + " mining " + std::to_string(s.mining_step) +
                              " upsample " + std::to_string(s.upsample) + " weights " + s.weights +
                              (s.quantised ? " ties" : "") + (s.rank_one_ignored ? " rank-1-ignored" : "");
    Batch batch = global_batch(ranks, per_rank, s.quantised, s.rank_one_ignored);

    distributed::LocalCommunicator alone;
    SegmentationLoss single(options, 5, 255, alone);
    Outcome reference = run(single, batch.logits, batch.labels, s.step);

    options.top_k_scope = loss::TopKScope::global;
    SegmentationLoss global(options, 5, 255, comm);
    std::vector<at::Tensor> mine;
    for (auto& logits : batch.logits) mine.push_back(logits.narrow(0, comm.rank() * per_rank, per_rank));
    Outcome ours = run(global, mine, batch.labels.narrow(0, comm.rank() * per_rank, per_rank), s.step);

    const LossValues our_values = ours.result.report.read(),
                     reference_values = reference.result.report.read();
    EXPECT_NEAR(our_values.total, reference_values.total, 1e-6) << where;
    for (size_t e = 0; e < our_values.entries.size(); ++e)
      EXPECT_NEAR(our_values.entries[e].value, reference_values.entries[e].value, 1e-6) << where;
    for (size_t e = 0; e < mine.size(); ++e) {
      // What gradient averaging over ranks makes of this rank's gradient.
      at::Tensor averaged = ours.gradients[e] / ranks;
      at::Tensor expected = reference.gradients[e].narrow(0, comm.rank() * per_rank, per_rank);
      EXPECT_LE((averaged - expected).abs().max().item<double>(), 1e-6) << where << " entry " << e;
    }
  }
}

}  // namespace
}  // namespace atrous::loss
