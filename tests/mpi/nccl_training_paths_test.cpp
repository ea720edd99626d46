// The training collectives on GPUs through the NCCL communicator, against CPU references computed
// in the same process: the GradReducer's averaged gradients (several buckets, reduced wire types,
// accumulation), SyncBatchNorm on uneven per-rank batches, the global top-k loss, the local loss
// (bit for bit the CPU's selection, no host synchronisation), and SGD's update. One GPU per
// rank; each test skips, saying why, without them. Compiled wherever NCCL is.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "atrous/build_info.h"
#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/distributed/grad_reducer.h"
#include "atrous/distributed/local_communicator.h"
#include "atrous/distributed/model_replication.h"
#include "atrous/distributed/nccl_communicator.h"
#include "atrous/distributed/sync_batch_norm.h"
#include "atrous/loss/segmentation_loss.h"
#include "atrous/loss/top_k_selection.h"
#include "atrous/train/loss_scaler.h"
#include "atrous/train/sgd_momentum.h"
#include "mpi_test_world.h"
#include "nccl_test_fixture.h"
#include "sync_batch_norm_check.h"

#if ATROUS_TORCH_HAS_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace atrous::distributed {
namespace {

using atrous::test_support::test_communicator;
using atrous::test_support::test_world;

#if ATROUS_HAS_NCCL

using test_support::max_abs_difference;

class NcclGradReducer : public test_support::NcclTest {};
class NcclSyncBatchNorm : public test_support::NcclTest {};
class NcclLoss : public test_support::NcclTest {};
class NcclOptimizer : public test_support::NcclTest {};

// conv 3x3 -> relu -> conv 1x1 -> spatial mean -> linear, created on `options`' device and type.
struct SmallNet {
  std::vector<NamedTensor> parameters;
  SmallNet(uint64_t seed, at::TensorOptions options) {
    at::manual_seed(seed);
    const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
        {"conv1.weight", {16, 3, 3, 3}}, {"conv1.bias", {16}},
        {"conv2.weight", {8, 16, 1, 1}}, {"conv2.bias", {8}},
        {"head.weight", {2, 8}},         {"head.bias", {2}}};
    for (const auto& [name, shape] : shapes)
      parameters.push_back({name, (at::randn(shape, at::kDouble) * 0.3).to(options).requires_grad_(true)});
  }
  const at::Tensor& p(size_t i) const { return parameters[i].tensor; }
  at::Tensor loss(const at::Tensor& x, const at::Tensor& target) const {
    at::Tensor h = at::relu(at::conv2d(x, p(0), p(1), 1, 1));
    return at::mse_loss(at::linear(at::conv2d(h, p(2), p(3)).mean({2, 3}), p(4), p(5)), target);
  }
};

TEST_F(NcclGradReducer, GradientsAreTheAverageOverRanks) {
  NcclCommunicator& comm = this->comm();
  const int ranks = comm.size(), rank = comm.rank(), per_rank = 4;
  struct Setting {
    double bucket_mb;
    std::string dtype;
    int accumulate;
    double tolerance;
  };
  for (const Setting& s : std::vector<Setting>{{25, "float32", 1, 1e-5},
                                               {1e-4, "float32", 1, 1e-5},  // a bucket per parameter
                                               {1e-4, "float32", 2, 1e-5},
                                               {1e-3, "bfloat16", 1, 2e-2},
                                               {1e-4, "float16", 2, 5e-3}}) {
    const std::string where = "bucket_mb " + std::to_string(s.bucket_mb) + " " + s.dtype + " accumulate " +
                              std::to_string(s.accumulate);
    at::manual_seed(77);
    at::Tensor inputs = at::randn({ranks * per_rank, 3, 9, 9}, at::kDouble);
    at::Tensor targets = at::randn({ranks * per_rank, 2}, at::kDouble);

    // Reference: the mean over ranks of each rank's gradient, in float64 on the CPU.
    SmallNet reference(5, at::TensorOptions().dtype(at::kDouble));
    reference.loss(inputs.narrow(0, rank * per_rank, per_rank), targets.narrow(0, rank * per_rank, per_rank))
        .backward();
    std::vector<at::Tensor> expected;
    for (const auto& named : reference.parameters) {
      at::Tensor gradient = named.tensor.grad().clone();
      test_communicator().allreduce(gradient, ReduceOp::average)->wait();
      expected.push_back(gradient);
    }

    // Ours: float32 on this rank's GPU, started from a different seed on every rank (rank 0's wins).
    SmallNet ours(5 + rank, gpu().dtype(at::kFloat));
    ReducerOptions options;
    options.bucket_mb = s.bucket_mb;
    options.allreduce_dtype = parse_choice("dist.allreduce_dtype", allreduce_dtype_choices(), s.dtype);
    replicate_from_root(ours.parameters, {}, comm);
    GradReducer reducer(ours.parameters, comm, options);
    EXPECT_LE(max_abs_difference(ours.p(0), reference.p(0)), 1e-6)
        << where << ": rank 0's weights everywhere";
    const int64_t micro = per_rank / s.accumulate;
    for (int m = 0; m < s.accumulate; ++m) {
      reducer.set_synchronize(m + 1 == s.accumulate);
      const int64_t first = rank * per_rank + m * micro;
      at::Tensor loss = ours.loss(inputs.narrow(0, first, micro).to(gpu().dtype(at::kFloat)),
                                  targets.narrow(0, first, micro).to(gpu().dtype(at::kFloat))) /
                        s.accumulate;
      loss.backward();
    }
    reducer.finish_step();
    EXPECT_GE(reducer.bucket_layout().size(), s.bucket_mb < 1 ? size_t{2} : size_t{1}) << where;
    for (size_t i = 0; i < expected.size(); ++i) {
      const double scale = std::max(1.0, expected[i].abs().max().item<double>());
      EXPECT_LE(max_abs_difference(ours.p(i).grad(), expected[i]) / scale, s.tolerance)
          << where << " " << ours.parameters[i].name;
    }
  }
}

TEST_F(NcclSyncBatchNorm, EqualsBatchNormOnTheConcatenatedBatch) {
  NcclCommunicator& comm = this->comm();
  for (const auto& sizes : test_support::batch_norm_layouts(comm.size()))
    test_support::expect_sync_batch_norm_equals_concatenated_batch(comm, sizes, gpu());
}

// While it lives (and `on`), any CUDA call that makes the host wait for the GPU throws (c10's sync
// debug mode). Without a CUDA LibTorch there is no GPU to wait for.
class NoHostSynchronisation {
 public:
  explicit NoHostSynchronisation(bool on) { set(on); }
  ~NoHostSynchronisation() { set(false); }
  NoHostSynchronisation(const NoHostSynchronisation&) = delete;
  NoHostSynchronisation& operator=(const NoHostSynchronisation&) = delete;

 private:
  static void set(bool on) {
#if ATROUS_TORCH_HAS_CUDA
    c10::cuda::warning_state().set_sync_debug_mode(on ? c10::cuda::SyncDebugMode::L_ERROR
                                                      : c10::cuda::SyncDebugMode::L_DISABLED);
#else
    (void)on;
#endif
  }
};

// The loss of a small scale and the merged logits, its total and the logits' gradients (on the CPU).
std::pair<double, std::vector<at::Tensor>> run_loss(const loss::SegmentationLoss& loss,
                                                    const std::vector<at::Tensor>& logits,
                                                    const at::Tensor& target) {
  model::ScaleOutputs outputs;
  std::vector<at::Tensor> leaves;
  for (size_t i = 0; i < logits.size(); ++i) {
    leaves.push_back(logits[i].detach().clone().requires_grad_(true));
    outputs.push_back({i == 0 ? "scale_0.5" : "merged", leaves.back()});
  }
  loss::LossResult result;
  {
    // In local scope on a GPU the loss must not wait for the GPU (the host queues backward while
    // forward runs): any synchronising CUDA call inside it is an error here.
    const NoHostSynchronisation check(!loss.global_scope() && target.is_cuda());
    result = loss(outputs, target, 0);
  }
  result.backward.backward();
  std::vector<at::Tensor> gradients;
  for (auto& leaf : leaves) gradients.push_back(leaf.grad().cpu());
  return {result.report.read().total, gradients};
}

// The global top-k loss with CUDA logits and NCCL equals one CPU process on the concatenated batch.
TEST_F(NcclLoss, GlobalTopKOnGpusEqualsOneCpuProcess) {
  NcclCommunicator& comm = this->comm();
  const int ranks = comm.size(), per_rank = 2;
  const int64_t images = ranks * per_rank, classes = 5;
  at::manual_seed(11);
  at::Tensor small = at::randn({images, classes, 6, 6}) * 2,
             merged = at::randn({images, classes, 11, 11}) * 2;
  at::Tensor labels = at::randint(0, classes, {images, 11, 11}, at::kLong);
  labels.masked_fill_(at::rand({images, 11, 11}) < 0.2, 255);

  loss::LossOptions options;
  options.top_k_percent_pixels = 0.25;
  LocalCommunicator alone;
  loss::SegmentationLoss single(options, classes, 255, alone);
  const auto [reference_total, reference_gradients] = run_loss(single, {small, merged}, labels);

  options.top_k_scope = loss::TopKScope::global;
  loss::SegmentationLoss global(options, classes, 255, comm);
  const int64_t first = comm.rank() * per_rank;
  const auto on_gpu = gpu();
  const auto [total, gradients] = run_loss(
      global, {small.narrow(0, first, per_rank).to(on_gpu), merged.narrow(0, first, per_rank).to(on_gpu)},
      labels.narrow(0, first, per_rank).to(on_gpu));
  EXPECT_NEAR(total, reference_total, 1e-5);
  for (size_t e = 0; e < gradients.size(); ++e)
    EXPECT_LE(max_abs_difference(gradients[e] / ranks, reference_gradients[e].narrow(0, first, per_rank)),
              1e-6)
        << "entry " << e;
}

// The local top-k loss on a GPU (its selection and counts computed there, read back once) equals
// the same loss on the CPU; an invalid label is reported when the loss is read.
TEST_F(NcclLoss, LocalTopKOnAGpuEqualsTheCpu) {
  const int64_t images = 2, classes = 5;
  at::manual_seed(13 + this->comm().rank());
  at::Tensor small = at::round(at::randn({images, classes, 6, 6}) * 2),  // rounded: ties at the threshold
      merged = at::randn({images, classes, 11, 11}) * 2;
  at::Tensor labels = at::randint(0, classes, {images, 11, 11}, at::kLong);
  labels.masked_fill_(at::rand({images, 11, 11}) < 0.2, 255);
  const auto on_gpu = gpu();
  LocalCommunicator alone;
  for (double p : {1.0, 0.25}) {
    loss::LossOptions options;
    options.top_k_percent_pixels = p;
    loss::SegmentationLoss local(options, classes, 255, alone);
    const auto [reference_total, reference_gradients] = run_loss(local, {small, merged}, labels);
    const auto [total, gradients] = run_loss(local, {small.to(on_gpu), merged.to(on_gpu)}, labels.to(on_gpu));
    EXPECT_NEAR(total, reference_total, 1e-5) << "p " << p;
    for (size_t e = 0; e < gradients.size(); ++e)
      EXPECT_LE(max_abs_difference(gradients[e], reference_gradients[e]), 1e-6)
          << "p " << p << " entry " << e;
  }
  // The selection itself, bit for bit the radix search's on the CPU.
  for (int64_t k : {int64_t(0), int64_t(37), int64_t(small.numel() / classes)}) {
    const at::Tensor values = at::round(at::rand({small.numel() / classes}) * 8) / 4;
    const loss::DeviceSelection on_gpu_selection = loss::local_top_k_on_device(values.to(on_gpu), k);
    const loss::TopKThreshold threshold = loss::local_top_k(values, k);
    EXPECT_TRUE(on_gpu_selection.weights.cpu().equal(loss::selection_weights(values, threshold)))
        << "k " << k;
    EXPECT_EQ(on_gpu_selection.nonzero.item<double>(), double(loss::nonzero_count(threshold))) << "k " << k;
  }
  loss::SegmentationLoss local(loss::LossOptions{}, classes, 255, alone);
  at::Tensor wrong = labels.clone();
  wrong[1][3][4] = 9;
  EXPECT_THROW(run_loss(local, {small.to(on_gpu), merged.to(on_gpu)}, wrong.to(on_gpu)), UserError);
}

// SGD with momentum on a GPU (ATen's foreach operators) against the same steps on the CPU (the
// one-pass update): decay and a multiplier, Nesterov, a channels-last weight, a parameter without a
// gradient (untouched, no velocity), and zero_grad in place.
TEST_F(NcclOptimizer, SgdOnAGpuEqualsTheCpu) {
  for (bool nesterov : {false, true}) {
    train::OptimizerOptions options;
    options.nesterov = nesterov;
    at::manual_seed(9);
    const std::vector<at::Tensor> start{at::randn({16, 8, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast),
                                        at::randn({16}), at::randn({5})};
    std::vector<at::Tensor> on_cpu, on_gpu;
    for (const at::Tensor& tensor : start) {
      on_cpu.push_back(tensor.clone().requires_grad_());
      on_gpu.push_back(tensor.to(gpu()).requires_grad_());
    }
    auto make = [&](std::vector<at::Tensor>& p) {
      return train::SgdMomentum(
          {{"w", p[0], true, 1.0}, {"b", p[1], false, 2.0}, {"unused", p[2], true, 1.0}}, options, 1e-2);
    };
    train::SgdMomentum cpu_sgd = make(on_cpu), gpu_sgd = make(on_gpu);
    for (int step = 0; step < 3; ++step) {
      for (size_t i = 0; i < 2; ++i) {
        const at::Tensor g = at::randn_like(on_cpu[i]);
        on_cpu[i].mutable_grad() = g;
        on_gpu[i].mutable_grad() = g.to(gpu());
      }
      cpu_sgd.step(0.1);
      gpu_sgd.step(0.1);
    }
    const std::string where = nesterov ? "nesterov" : "momentum";
    for (size_t i = 0; i < 2; ++i)
      EXPECT_LE(max_abs_difference(on_gpu[i], on_cpu[i]), 1e-5) << where << " " << i;
    EXPECT_TRUE(at::equal(on_gpu[2].cpu(), start[2])) << where;
    EXPECT_EQ(gpu_sgd.velocity().count("unused"), 0u) << where;
    EXPECT_LE(max_abs_difference(gpu_sgd.velocity().at("w"), cpu_sgd.velocity().at("w")), 1e-5) << where;
    EXPECT_EQ(gpu_sgd.velocity().at("w").strides(), on_gpu[0].strides()) << where;
    gpu_sgd.zero_grad();
    EXPECT_EQ(on_gpu[0].grad().abs().max().item<double>(), 0.0) << where;
  }
}

// fp16's loss scaler unscales on a GPU with ATen's fused kernel: the same gradients as on the CPU,
// and an inf or NaN in any of them (also a float16 one) found.
TEST_F(NcclOptimizer, LossScalerUnscalesOnAGpuLikeOnTheCpu) {
  at::manual_seed(4);
  const std::vector<at::Tensor> grads{at::randn({64, 8, 3, 3}) * 1024, at::randn({64}) * 1024};
  auto parameters_with = [&](const at::TensorOptions& where, int poisoned, double poison) {
    std::vector<train::OptimizedParameter> parameters;
    for (size_t i = 0; i < grads.size(); ++i) {
      at::Tensor tensor = at::zeros_like(grads[i], where).requires_grad_();
      at::Tensor grad = grads[i].clone();  // float32: a value too large for float16 becomes inf below
      if (int(i) == poisoned) grad.view({-1})[3] = poison;
      tensor.mutable_grad() = grad.to(where);
      parameters.push_back({"p" + std::to_string(i), tensor, true, 1.0});
    }
    return parameters;
  };
  train::LossScaler scaler(true);
  const std::vector<train::OptimizedParameter> on_cpu = parameters_with(at::TensorOptions(), -1, 0);
  const std::vector<train::OptimizedParameter> on_gpu = parameters_with(gpu(), -1, 0);
  EXPECT_FALSE(scaler.unscale(on_cpu));
  EXPECT_FALSE(scaler.unscale(on_gpu));
  for (size_t i = 0; i < grads.size(); ++i)
    EXPECT_EQ(max_abs_difference(on_gpu[i].tensor.grad(), on_cpu[i].tensor.grad()), 0.0) << i;
  EXPECT_TRUE(scaler.unscale(parameters_with(gpu(), 1, std::numeric_limits<double>::infinity())));
  EXPECT_TRUE(scaler.unscale(parameters_with(gpu(), 0, std::nan(""))));
  EXPECT_TRUE(scaler.unscale(parameters_with(gpu().dtype(at::kHalf), 0, 1e6)));  // inf in float16
}

#else
TEST(NcclTrainingPaths, NeedNccl) {
  GTEST_SKIP() << "built without NCCL";
}
#endif

}  // namespace
}  // namespace atrous::distributed
