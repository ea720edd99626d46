// N ranks x b samples with the GradReducer must train exactly like one process on N x b samples.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/core/tensor_layout.h"
#include "atrous/distributed/grad_reducer.h"
#include "atrous/distributed/model_replication.h"
#include "atrous/distributed/mpi_communicator.h"
#include "mpi_test_world.h"

namespace atrous::distributed {
namespace {

using atrous::test_support::test_communicator;
using atrous::test_support::test_world;

// conv 3x3 -> relu -> conv 1x1 -> spatial mean -> linear, plus a parameter the forward never uses.
struct TinyNet {
  std::vector<NamedTensor> parameters;

  explicit TinyNet(uint64_t seed, int64_t kernel = 3) {
    at::manual_seed(seed);
    add("conv1.weight", at::randn({8, 3, kernel, kernel}) * 0.3);
    add("conv1.bias", at::randn({8}) * 0.1);
    add("conv2.weight", at::randn({4, 8, 1, 1}) * 0.3);
    add("conv2.bias", at::randn({4}) * 0.1);
    add("head.weight", at::randn({2, 4}) * 0.3);
    add("head.bias", at::zeros({2}));
    add("unused", at::randn({5}));
  }
  void add(const std::string& name, at::Tensor value) {
    parameters.push_back({name, value.requires_grad_(true)});
  }
  const at::Tensor& p(size_t i) const { return parameters[i].tensor; }

  at::Tensor forward(const at::Tensor& x) const {
    at::Tensor h = at::relu(at::conv2d(x, p(0), p(1), 1, 1));
    h = at::conv2d(h, p(2), p(3)).mean({2, 3});
    return at::linear(h, p(4), p(5));
  }

  // SGD with momentum 0.9, as torch.optim.SGD (no dampening).
  void sgd_step(std::vector<at::Tensor>& velocity, double lr) {
    at::NoGradGuard no_grad;
    if (velocity.empty())
      for (auto& named : parameters) velocity.push_back(at::zeros_like(named.tensor));
    for (size_t i = 0; i < parameters.size(); ++i) {
      at::Tensor& parameter = parameters[i].tensor;
      if (!parameter.grad().defined()) continue;
      velocity[i].mul_(0.9).add_(parameter.grad());
      parameter.sub_(velocity[i] * lr);
      parameter.mutable_grad().zero_();
    }
  }
};

struct Data {
  at::Tensor inputs, targets;
};

Data global_batch(int64_t samples, int step) {
  at::manual_seed(1000 + step);
  return {at::randn({samples, 3, 6, 6}), at::randn({samples, 2})};
}

double max_difference(const TinyNet& a, const TinyNet& b) {
  double worst = 0;
  for (size_t i = 0; i < a.parameters.size(); ++i)
    worst = std::max(worst, (a.p(i) - b.p(i)).abs().max().item<double>());
  return worst;
}

struct Setting {
  double bucket_mb;
  at::ScalarType dtype;
  int accumulate;
  double tolerance;
  at::MemoryFormat format = at::MemoryFormat::Contiguous;  // of the 4-D weights, as model.memory_format
};

// Each parameter's gradient lies as the parameter does (autograd's layout contract).
void expect_gradient_layouts(const TinyNet& net, const std::string& where) {
  for (const auto& [name, parameter] : net.parameters)
    EXPECT_TRUE(same_layout(parameter.grad(), parameter))
        << where << " " << name << ": gradient strides " << parameter.grad().strides() << ", parameter's "
        << parameter.strides();
}

TEST(GradReducer, RanksTrainLikeOneProcessOnTheConcatenatedBatch) {
  MpiCommunicator& comm = test_communicator();
  const int ranks = comm.size(), per_rank = 4, steps = 5;
  for (const Setting& s : std::vector<Setting>{{25, at::kFloat, 1, 1e-5},
                                               {1e-4, at::kFloat, 1, 1e-5},  // one bucket per parameter
                                               {1e-4, at::kFloat, 2, 1e-5},
                                               {25, at::kBFloat16, 1, 2e-2},
                                               {1e-4, at::kHalf, 2, 5e-3},
                                               {25, at::kFloat, 2, 1e-5, at::MemoryFormat::ChannelsLast},
                                               {1e-4, at::kHalf, 1, 5e-3, at::MemoryFormat::ChannelsLast}}) {
    const bool channels_last = s.format == at::MemoryFormat::ChannelsLast;
    const std::string where = "bucket_mb " + std::to_string(s.bucket_mb) + " " +
                              choice_name(allreduce_dtype_choices(), s.dtype) + " accumulate " +
                              std::to_string(s.accumulate) + (channels_last ? " channels_last" : "");
    TinyNet reference(100);           // rank 0's start
    TinyNet ours(100 + comm.rank());  // different on every rank: replication broadcasts rank 0's
    replicate_from_root(ours.parameters, {}, comm);
    EXPECT_EQ(max_difference(ours, reference), 0.0) << where;  // rank 0's start everywhere
    for (auto& [name, parameter] : ours.parameters)            // after replication, as the trainer does
      if (parameter.dim() == 4) parameter.set_data(parameter.contiguous(s.format));
    ASSERT_EQ(ours.p(0).is_contiguous(), !channels_last) << where;
    ReducerOptions options;
    options.bucket_mb = s.bucket_mb;
    options.allreduce_dtype = s.dtype;
    GradReducer reducer(ours.parameters, comm, options);

    std::vector<at::Tensor> reference_velocity, our_velocity;
    for (int step = 0; step < steps; ++step) {
      Data data = global_batch(ranks * per_rank, step);
      at::mse_loss(reference.forward(data.inputs), data.targets).backward();
      reference.sgd_step(reference_velocity, 0.1);

      const int64_t micro = per_rank / s.accumulate;
      for (int m = 0; m < s.accumulate; ++m) {
        reducer.set_synchronize(m + 1 == s.accumulate);
        const int64_t first = comm.rank() * per_rank + m * micro;
        at::Tensor loss = at::mse_loss(ours.forward(data.inputs.narrow(0, first, micro)),
                                       data.targets.narrow(0, first, micro)) /
                          s.accumulate;
        loss.backward();
      }
      reducer.finish_step();
      expect_gradient_layouts(ours, where + " step " + std::to_string(step));
      ours.sgd_step(our_velocity, 0.1);
      EXPECT_LE(max_difference(ours, reference), s.tolerance) << where << " step " << step;
    }
  }
}

TEST(GradReducer, BucketsFollowReverseRegistrationOrder) {
  TinyNet net(0);
  ReducerOptions options;
  options.bucket_mb = 1e-4;  // about 100 bytes: small parameters share, larger ones stand alone
  GradReducer reducer(net.parameters, test_communicator(), options);
  std::vector<int64_t> order;
  for (const auto& bucket : reducer.bucket_layout()) order.insert(order.end(), bucket.begin(), bucket.end());
  EXPECT_EQ(order, (std::vector<int64_t>{6, 5, 4, 3, 2, 1, 0}));
}

TEST(GradReducer, BucketsStartDuringBackwardOnceUnusedParametersAreKnown) {
  MpiCommunicator& comm = test_communicator();
  TinyNet net(0);
  ReducerOptions options;
  options.bucket_mb = 1e-4;
  GradReducer reducer(net.parameters, comm, options);
  const auto buckets = static_cast<int64_t>(reducer.bucket_layout().size());
  ASSERT_GE(buckets, 3);
  std::vector<at::Tensor> velocity;
  for (int step = 0; step < 3; ++step) {
    Data data = global_batch(4, step);
    at::mse_loss(net.forward(data.inputs), data.targets).backward();
    // Step 0 cannot know that `unused` (in the first bucket) gets no gradient, so nothing starts
    // before finish_step(); from step 1 on every bucket has started when backward returns.
    EXPECT_EQ(reducer.buckets_started(), step == 0 ? 0 : buckets) << "step " << step;
    reducer.finish_step();
    EXPECT_TRUE(net.p(6).grad().eq(0).all().item<bool>());
    net.sgd_step(velocity, 0.1);
  }
}

TEST(GradReducer, AParameterThatStartsGettingGradientsAfterItsBucketWasSentIsAnError) {
  TinyNet net(0);
  ReducerOptions options;
  options.bucket_mb = 1e-4;  // `unused` alone in the first bucket
  GradReducer reducer(net.parameters, test_communicator(), options);
  Data data = global_batch(4, 0);
  at::mse_loss(net.forward(data.inputs), data.targets).backward();
  reducer.finish_step();  // step 0: `unused` got no gradient, so step 1 counts it in at once
  at::Tensor loss = at::mse_loss(net.forward(data.inputs), data.targets) + net.p(6).sum();
  try {
    loss.backward();
    FAIL() << "a parameter changed from unused to used without an error";
  } catch (const std::exception& error) {
    EXPECT_NE(
        std::string(error.what()).find("unused got a gradient although it got none in the previous step"),
        std::string::npos)
        << error.what();
  }
  test_communicator().barrier()->wait();  // every rank is still in step
}

TEST(GradReducer, OptionsAreValidatedByName) {
  ReducerOptions options;
  options.bucket_mb = 0;
  EXPECT_THROW(options.validate(), OptionError);
  OptionTable table;
  ReducerOptions::declare(table, options);
  EXPECT_THROW(parse_options(table, {"--dist.allreduce_dtype", "int8"}), OptionError);
  parse_options(table, {"--dist.allreduce_dtype", "bfloat16"});
  EXPECT_EQ(options.allreduce_dtype, at::kBFloat16);
}

}  // namespace
}  // namespace atrous::distributed
