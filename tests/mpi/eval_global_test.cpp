// Distributed evaluation: every rank evaluates its share of the pack and the confusion matrices are
// summed; the result must equal one process evaluating the whole pack.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "atrous/data/pack_reader.h"
#include "atrous/data/pack_writer.h"
#include "atrous/distributed/local_communicator.h"
#include "atrous/eval/evaluator.h"
#include "mpi_test_world.h"
#include "scratch_pack.h"

namespace atrous::eval {
namespace {

using atrous::test_support::test_communicator;

// The same 7 samples on every rank (same seed), each in its own file; padded regions vary.
void write_pack(const std::string& path) {
  const data::PackMetadata metadata = test_support::three_class_metadata(33, 41, "val");
  data::PackWriter writer(path, metadata, 0);
  at::manual_seed(5);
  for (int i = 0; i < 7; ++i) {
    const int32_t h = 20 + 2 * i, w = 41 - i;
    at::Tensor image = at::randint(0, 256, {33, 41, 3}, at::kByte);
    at::Tensor label = at::randint(0, 3, {33, 41}, at::kByte);
    label.slice(0, h).fill_(255);
    label.slice(1, w).fill_(255);
    writer.append("s" + std::to_string(i), image, label, {h, w}, {h, w});
  }
  writer.commit();
}

TEST(DistributedEval, EqualsOneProcessOnTheWholePack) {
  const test_support::ScratchFile file("atrous_eval_test");
  write_pack(file.path());
  data::PackReader pack(file.path());
  model::ModelOptions options;
  options.backbone = "mobilenet_v2";
  at::manual_seed(1);  // the same weights on every rank
  model::DeepLab net(options, 3);
  PredictOptions predict;
  predict.scales = "0.75,1";
  predict.flip = true;
  Predictor predictor(net, predict);
  const EvalResult distributed = evaluate(predictor, pack, test_communicator(), at::kCPU);
  distributed::LocalCommunicator alone;
  const EvalResult single = evaluate(predictor, pack, alone, at::kCPU);
  EXPECT_EQ(distributed.samples, 7);
  EXPECT_TRUE(at::equal(distributed.matrix, single.matrix)) << distributed.matrix << single.matrix;
  EXPECT_DOUBLE_EQ(distributed.metrics.mean_iou, single.metrics.mean_iou);
  int64_t valid = 0;
  for (int i = 0; i < 7; ++i) valid += int64_t(20 + 2 * i) * (41 - i);
  EXPECT_EQ(distributed.matrix.sum().item<int64_t>(), valid);  // the valid regions, all of them
}

}  // namespace
}  // namespace atrous::eval
