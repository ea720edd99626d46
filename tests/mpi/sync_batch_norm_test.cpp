// SyncBatchNorm on N ranks against at::batch_norm on the concatenated batch: outputs, input
// gradients, weight and bias gradients, running statistics, with uneven per-rank batch sizes.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <numeric>

#include "atrous/core/error.h"
#include "atrous/distributed/mpi_communicator.h"
#include "atrous/distributed/sync_batch_norm.h"
#include "atrous/distributed/sync_batch_norm_group.h"
#include "mpi_test_world.h"
#include "sync_batch_norm_check.h"

namespace atrous::distributed {
namespace {

using atrous::test_support::test_communicator;
using atrous::test_support::test_world;

TEST(SyncBatchNorm, EqualsBatchNormOnTheConcatenatedBatch) {
  for (const auto format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast})
    for (const auto& sizes : test_support::batch_norm_layouts(test_communicator().size()))
      test_support::expect_sync_batch_norm_equals_concatenated_batch(test_communicator(), sizes,
                                                                     at::TensorOptions(at::kCPU), 5, format);
}

// bf16 inputs (train.precision bf16): float32 statistics, bf16 outputs and input gradients.
TEST(SyncBatchNorm, EqualsBatchNormOnTheConcatenatedBatchInBf16) {
  for (const auto format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast})
    for (const auto& sizes : test_support::batch_norm_layouts(test_communicator().size()))
      test_support::expect_sync_batch_norm_equals_concatenated_batch(
          test_communicator(), sizes, at::TensorOptions(at::kCPU), 5, format, at::kBFloat16);
}

// The batch norms' own communicator, as the trainer makes it (calling-thread MPI over the group).
std::unique_ptr<Communicator> batch_norm_communicator(const std::string& group) {
  SyncBatchNormOptions options;
  options.group = group;
  return make_batch_norm_communicator(test_world(), options, CommunicatorOptions{});
}

TEST(SyncBatchNorm, TheBatchNormCommunicatorSpansEveryRankByDefault) {
  std::unique_ptr<Communicator> comm = batch_norm_communicator("all");
  if (test_world().size() == 1) {
    EXPECT_EQ(comm, nullptr) << "one rank: batch norm stays local";
    return;
  }
  ASSERT_NE(comm, nullptr);
  EXPECT_EQ(comm->size(), test_world().size());
  EXPECT_EQ(comm->rank(), test_world().rank());
  for (const auto& sizes : test_support::batch_norm_layouts(comm->size()))
    test_support::expect_sync_batch_norm_equals_concatenated_batch(*comm, sizes, at::TensorOptions(at::kCPU));
}

// Blocks of 2 consecutive ranks: each block normalises over its own samples only. Each block's
// batch is drawn from its own seed, so statistics leaking between blocks would show.
TEST(SyncBatchNorm, GroupsOfTwoRanksNormaliseOverTheirOwnSamples) {
  if (test_world().size() % 2 != 0) GTEST_SKIP() << "needs an even number of ranks";
  std::unique_ptr<Communicator> comm = batch_norm_communicator("2");
  ASSERT_NE(comm, nullptr);
  EXPECT_EQ(comm->size(), 2);
  EXPECT_EQ(comm->rank(), test_world().rank() % 2);
  const uint64_t block_seed = 50 + uint64_t(test_world().rank() / 2);
  for (const auto& sizes : test_support::batch_norm_layouts(2))
    test_support::expect_sync_batch_norm_equals_concatenated_batch(*comm, sizes, at::TensorOptions(at::kCPU),
                                                                   block_seed);
}

TEST(SyncBatchNorm, NodeGroupsAreTheRanksOfEachNode) {
  std::unique_ptr<Communicator> comm = batch_norm_communicator("node");
  if (test_world().local_size() == 1) {
    EXPECT_EQ(comm, nullptr) << "alone on its node: batch norm stays local";
    return;
  }
  ASSERT_NE(comm, nullptr);
  EXPECT_EQ(comm->size(), test_world().local_size());
  EXPECT_EQ(comm->rank(), test_world().local_rank());
}

TEST(SyncBatchNorm, GroupsThatDoNotDivideTheRanksAreRefusedByName) {
  const int ranks = test_world().size();
  SyncBatchNormOptions options;
  options.group = std::to_string(ranks + 1);
  try {
    make_batch_norm_communicator(test_world(), options, CommunicatorOptions{});
    FAIL() << "a group of " << options.group << " accepted on " << ranks << " ranks";
  } catch (const OptionError& error) {
    EXPECT_NE(error.message().find("dist.sync_bn_group"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find(to_text("divides the job's ", ranks, " ranks")), std::string::npos)
        << error.message();
  }
  options.group = "1";  // every rank alone: local batch norm, no communicator
  EXPECT_EQ(make_batch_norm_communicator(test_world(), options, CommunicatorOptions{}), nullptr);
  options.enabled = false;
  options.group = "all";
  EXPECT_EQ(make_batch_norm_communicator(test_world(), options, CommunicatorOptions{}), nullptr);
}

}  // namespace
}  // namespace atrous::distributed

// Training end to end: conv -> BatchNorm2d -> relu -> conv -> mean -> linear, converted to
// synchronised batch norm, gradients averaged by the GradReducer. N ranks x b samples must train
// like one process on N x b samples, parameters and running statistics alike.
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>

#include "atrous/distributed/grad_reducer.h"
#include "atrous/distributed/model_replication.h"
#include "atrous/distributed/sync_batch_norm_pass.h"
#include "atrous/model/batch_norm.h"

namespace atrous::distributed {
namespace {

struct BnNet : torch::nn::Module {
  explicit BnNet(uint64_t seed) {
    at::manual_seed(seed);
    conv1 = register_parameter("conv1_weight", at::randn({6, 3, 3, 3}) * 0.3);
    bn = register_module("bn", model::BatchNorm2d(6));
    {
      at::NoGradGuard no_grad;
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0, 0.1);
    }
    conv2 = register_parameter("conv2_weight", at::randn({4, 6, 1, 1}) * 0.3);
    head = register_parameter("head_weight", at::randn({2, 4}) * 0.3);
  }
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor h = at::relu(bn->forward(at::conv2d(x, conv1, {}, 1, 1)));
    return at::linear(at::conv2d(h, conv2).mean({2, 3}), head);
  }
  std::vector<NamedTensor> named(bool buffers) {
    std::vector<NamedTensor> list;
    for (const auto& item : buffers ? named_buffers() : named_parameters())
      list.push_back({item.key(), item.value()});
    return list;
  }
  void sgd_step(std::vector<at::Tensor>& velocity, double lr) {
    at::NoGradGuard no_grad;
    auto params = parameters();
    if (velocity.empty())
      for (auto& p : params) velocity.push_back(at::zeros_like(p));
    for (size_t i = 0; i < params.size(); ++i) {
      velocity[i].mul_(0.9).add_(params[i].grad());
      params[i].sub_(velocity[i] * lr);
      params[i].mutable_grad().zero_();
    }
  }
  at::Tensor conv1, conv2, head;
  model::BatchNorm2d bn{nullptr};
};

double max_state_difference(BnNet& a, BnNet& b) {
  double worst = 0;
  auto sa = a.named(false), sb = b.named(false), ba = a.named(true), bb = b.named(true);
  sa.insert(sa.end(), ba.begin(), ba.end());
  sb.insert(sb.end(), bb.begin(), bb.end());
  for (size_t i = 0; i < sa.size(); ++i)
    worst = std::max(
        worst, (sa[i].tensor.to(at::kDouble) - sb[i].tensor.to(at::kDouble)).abs().max().item<double>());
  return worst;
}

TEST(SyncBatchNorm, RanksTrainLikeOneProcessOnTheConcatenatedBatch) {
  MpiCommunicator& comm = test_communicator();
  const int ranks = comm.size(), per_rank = 3;
  BnNet reference(100);
  BnNet ours(100 + comm.rank());
  replicate_from_root(ours.named(false), ours.named(true), comm);
  GradReducer reducer(ours.named(false), comm, ReducerOptions{});
  // The batch norms on their own communicator, the gradients on the overlapping one: as in training.
  std::unique_ptr<Communicator> batch_norm_comm = batch_norm_communicator("all");
  Communicator* norm_comm = batch_norm_comm ? batch_norm_comm.get() : &comm;
  EXPECT_EQ(convert_to_sync_batch_norm(ours, norm_comm), 1);
  EXPECT_EQ(max_state_difference(ours, reference), 0.0);  // rank 0's start everywhere

  std::vector<at::Tensor> reference_velocity, our_velocity;
  for (int step = 0; step < 5; ++step) {
    at::manual_seed(2000 + step);
    at::Tensor inputs = at::randn({ranks * per_rank, 3, 5, 5}) * 2 + 0.5,
               targets = at::randn({ranks * per_rank, 2});
    at::mse_loss(reference.forward(inputs), targets).backward();
    reference.sgd_step(reference_velocity, 0.05);

    const int64_t first = comm.rank() * per_rank;
    at::mse_loss(ours.forward(inputs.narrow(0, first, per_rank)), targets.narrow(0, first, per_rank))
        .backward();
    reducer.finish_step();
    ours.sgd_step(our_velocity, 0.05);
    EXPECT_LE(max_state_difference(ours, reference), 1e-5) << "step " << step;
  }
  // Evaluation uses the running statistics and no communication: every rank alone agrees.
  ours.eval();
  reference.eval();
  at::Tensor probe = at::randn({2, 3, 5, 5});
  EXPECT_LE((ours.forward(probe) - reference.forward(probe)).abs().max().item<double>(), 1e-5);
}

TEST(SyncBatchNorm, PlainTorchBatchNormIsRefusedByName) {
  struct Plain : torch::nn::Module {
    Plain() { register_module("stem_bn", torch::nn::BatchNorm2d(4)); }
  } plain;
  try {
    convert_to_sync_batch_norm(plain, &test_communicator());
    FAIL() << "torch::nn::BatchNorm2d accepted";
  } catch (const InternalError& error) {
    EXPECT_NE(error.message().find("module 'stem_bn' is a torch::nn::BatchNorm2d"), std::string::npos)
        << error.message();
  }
}

}  // namespace
}  // namespace atrous::distributed
