// The trainer's pieces against hand computations: LR policies, SGD with TF DeepLab's weight decay and
// gradient multipliers, and the run options (checkpoints: checkpoint_test.cpp).

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/model/deeplab.h"
#include "atrous/train/checkpoint.h"
#include "atrous/train/lr_schedule.h"
#include "atrous/train/sgd_momentum.h"
#include "atrous/train/sgd_array_update.h"
#include "atrous/train/train_options.h"
#include "scratch_files.h"

namespace atrous::train {
namespace {

TEST(LrSchedule, PolyStepCosineWarmupSlowStartAndLinearScaling) {
  LrOptions options;
  options.lr = 0.01;
  LrSchedule poly(options, 100, 16);
  EXPECT_DOUBLE_EQ(poly(0), 0.01);
  EXPECT_NEAR(poly(50), 0.01 * std::pow(0.5, 0.9), 1e-15);
  EXPECT_DOUBLE_EQ(poly(100), 0.0);
  options.end_lr = 0.001;
  EXPECT_NEAR(LrSchedule(options, 100, 16)(75), 0.009 * std::pow(0.25, 0.9) + 0.001, 1e-15);

  options = LrOptions();
  options.lr = 0.1;
  options.lr_policy = LrPolicy::step;
  options.step_size = 30;
  EXPECT_NEAR(LrSchedule(options, 100, 16)(65), 0.1 * 0.01, 1e-15);
  options.lr_policy = LrPolicy::cosine;
  EXPECT_NEAR(LrSchedule(options, 100, 16)(50), 0.05, 1e-15);

  options.warmup_steps = 10;
  EXPECT_NEAR(LrSchedule(options, 100, 16)(0), 0.1 * std::cos(0) * 0.1, 1e-15);
  options.slow_start_steps = 5;
  options.slow_start_lr = 1e-4;
  EXPECT_DOUBLE_EQ(LrSchedule(options, 100, 16)(4), 1e-4);
  EXPECT_NEAR(LrSchedule(options, 100, 16)(5), (0.05 * (1 + std::cos(M_PI * 0.05))) * 0.6, 1e-15);

  options = LrOptions();
  options.lr_scaling = LrScaling::linear;
  options.base_batch = 16;
  EXPECT_DOUBLE_EQ(LrSchedule(options, 100, 64).base_lr(), 0.007 * 4);
  try {
    parse_choice("optim.lr_policy", lr_policy_choices(), std::string("exp"));
    FAIL();
  } catch (const OptionError& error) {
    EXPECT_NE(std::string(error.what())
                  .find("--optim.lr_policy = exp is not allowed; allowed: poly, step or cosine"),
              std::string::npos);
  }
}

// The OptionError's message for options that LrSchedule or SgdMomentum refuse, "" when accepted.
template <class Make>
std::string refusal_of(Make make) {
  try {
    make();
    return "";
  } catch (const OptionError& error) {
    return error.message();
  }
}

TEST(LrSchedule, RatesThatAreNotFiniteFloatsAreRefusedByName) {
  const double infinity = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<std::string, std::function<void(LrOptions&)>>> cases = {
      {"optim.lr", [&](LrOptions& o) { o.lr = infinity; }},
      {"optim.lr", [](LrOptions& o) { o.lr = 1e308; }},  // finite as a double, not as float32
      {"optim.lr", [](LrOptions& o) { o.lr = std::nan(""); }},
      {"optim.end_lr", [&](LrOptions& o) { o.end_lr = infinity; }},
      {"optim.slow_start_lr", [&](LrOptions& o) { o.slow_start_lr = infinity; }},
      {"optim.power", [&](LrOptions& o) { o.power = infinity; }},
  };
  for (const auto& [name, spoil] : cases) {
    LrOptions options;
    spoil(options);
    const std::string message = refusal_of([&] { LrSchedule(options, 100, 16); });
    EXPECT_NE(message.find(name), std::string::npos) << name << ": " << message;
    EXPECT_NE(message.find("finite"), std::string::npos) << name << ": " << message;
  }
  LrOptions scaled;
  scaled.lr = 1e37;
  scaled.lr_scaling = LrScaling::linear;
  EXPECT_NE(refusal_of([&] { LrSchedule(scaled, 100, 1600); }).find("after linear scaling by 1600 / 16"),
            std::string::npos);
}

TEST(SgdMomentum, ANotANumberWeightDecayIsRefusedRatherThanTakenForTheDefault) {
  OptimizerOptions options;
  options.weight_decay = std::nan("");
  const std::string message = refusal_of([&] { SgdMomentum({}, options, 4e-5); });
  EXPECT_NE(message.find("optim.weight_decay"), std::string::npos) << message;
  options.weight_decay = -1;  // the default: accepted
  EXPECT_EQ(refusal_of([&] { SgdMomentum({}, options, 4e-5); }), "");
  options.bias_multiplier = std::numeric_limits<double>::infinity();
  EXPECT_NE(refusal_of([&] { SgdMomentum({}, options, 4e-5); }).find("optim.bias_multiplier"),
            std::string::npos);
}

// In float64: ATen's foreach operators. A parameter without a gradient is left alone.
TEST(SgdMomentum, DecayMultipliersAndMomentumFollowTheFormula) {
  at::Tensor weight = at::tensor({1.0, -2.0}, at::kDouble).view({1, 2}).requires_grad_();
  at::Tensor bias = at::tensor({0.5}, at::kDouble).requires_grad_();
  at::Tensor unused = at::tensor({3.0}, at::kDouble).requires_grad_();
  OptimizerOptions options;
  options.momentum = 0.9;
  SgdMomentum sgd({{"w", weight, true, 1.0}, {"b", bias, false, 2.0}, {"unused", unused, true, 1.0}}, options,
                  0.1);
  const double lr = 0.5;
  // Step 1: d_w = g + 0.1 w, d_b = 2 g; v = d.
  weight.mutable_grad() = at::tensor({0.2, 0.4}, at::kDouble).view({1, 2});
  bias.mutable_grad() = at::tensor({1.0}, at::kDouble);
  sgd.step(lr);
  const double w0 = 1.0 - lr * (0.2 + 0.1 * 1.0), v0 = 0.2 + 0.1;
  EXPECT_NEAR(weight[0][0].item<double>(), w0, 1e-12);
  EXPECT_NEAR(bias[0].item<double>(), 0.5 - lr * 2.0, 1e-12);
  // Step 2: v = 0.9 v + d.
  weight.mutable_grad() = at::tensor({0.2, 0.4}, at::kDouble).view({1, 2});
  bias.mutable_grad() = at::tensor({1.0}, at::kDouble);
  sgd.step(lr);
  const double v1 = 0.9 * v0 + (0.2 + 0.1 * w0);
  EXPECT_NEAR(weight[0][0].item<double>(), w0 - lr * v1, 1e-12);
  EXPECT_NEAR(bias[0].item<double>(), 0.5 - lr * 2.0 - lr * (0.9 * 2.0 + 2.0), 1e-12);
  EXPECT_NEAR(sgd.velocity().at("w")[0][0].item<double>(), v1, 1e-12);
  EXPECT_EQ(unused.item<double>(), 3.0);
  EXPECT_EQ(sgd.velocity().count("unused"), 0u);
  sgd.zero_grad();
  EXPECT_EQ(weight.grad().abs().max().item<double>(), 0.0);
  EXPECT_FALSE(unused.grad().defined());
}

// The one-pass update against the formula written out element by element, on more elements than
// one thread's chunk; with `first`, velocities full of NaN must not be read.
TEST(SgdArrayUpdate, EachElementFollowsTheFormula) {
  const int64_t n = 100003;
  std::mt19937 random(3);
  std::normal_distribution<float> normal;
  std::vector<float> w0(n), g(n), v0(n);
  for (int64_t i = 0; i < n; ++i) w0[i] = normal(random), g[i] = normal(random), v0[i] = normal(random);
  for (bool nesterov : {false, true})
    for (float decay : {0.0f, 1e-2f})
      for (bool first : {false, true}) {
        const SgdArrayUpdate update{decay, 3.0f, 0.9f, 0.1f, nesterov, first};
        std::vector<float> w = w0, v = v0;
        if (first) std::fill(v.begin(), v.end(), std::numeric_limits<float>::quiet_NaN());
        apply_sgd_update(update, w.data(), g.data(), v.data(), n);
        int64_t wrong = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double d = (double(g[i]) + double(decay) * w0[i]) * 3.0;
          const double velocity = first ? d : 0.9 * v0[i] + d;
          const double weight = w0[i] - 0.1 * (nesterov ? d + 0.9 * velocity : velocity);
          wrong += std::abs(v[i] - velocity) > 1e-6 * std::max(1.0, std::abs(velocity)) ||
                   std::abs(w[i] - weight) > 1e-6 * std::max(1.0, std::abs(weight));
        }
        EXPECT_EQ(wrong, 0) << "nesterov " << nesterov << " decay " << decay << " first " << first;
      }
}

// Velocities as a checkpoint holds them: contiguous CPU copies.
std::map<std::string, at::Tensor> as_checkpoint_holds(const std::map<std::string, at::Tensor>& velocity) {
  std::map<std::string, at::Tensor> held;
  for (const auto& [name, tensor] : velocity) held[name] = tensor.cpu().contiguous().clone();
  return held;
}

// SgdMomentum takes the one-pass update for float32 CPU parameters: the same steps in float64
// (ATen's operators) agree to float32's precision, with decay and a multiplier together, Nesterov,
// and velocities restored from a checkpoint.
// Also for a channels-last weight whose gradient comes channels-last in even steps and contiguous
// in odd ones, and whose velocity, loaded from contiguous tensors as checkpoints hold them, takes
// the weight's layout.
TEST(SgdMomentum, Float32ParametersAgreeWithTheFloat64OperatorPath) {
  constexpr size_t count = 3;
  for (bool nesterov : {false, true}) {
    OptimizerOptions options;
    options.nesterov = nesterov;
    at::manual_seed(5);
    const at::Tensor w = at::randn({40, 3, 3}), b = at::randn({40});
    const at::Tensor c = at::randn({8, 5, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast);
    std::vector<at::Tensor> single{w.clone().requires_grad_(), b.clone().requires_grad_(),
                                   c.clone().requires_grad_()};
    std::vector<at::Tensor> twice{w.to(at::kDouble).requires_grad_(), b.to(at::kDouble).requires_grad_(),
                                  c.to(at::kDouble).requires_grad_()};
    ASSERT_TRUE(single[2].is_contiguous(at::MemoryFormat::ChannelsLast));
    auto make = [&](std::vector<at::Tensor>& p) {
      return SgdMomentum({{"w", p[0], true, 3.0}, {"b", p[1], false, 2.0}, {"c", p[2], true, 1.0}}, options,
                         1e-2);
    };
    auto steps = [&](SgdMomentum& fast, SgdMomentum& reference, int steps) {
      for (int step = 0; step < steps; ++step) {
        for (size_t i = 0; i < count; ++i) {
          at::Tensor g = at::randn_like(single[i]);
          if (step % 2 == 1) g = g.contiguous();
          single[i].mutable_grad() = g;
          twice[i].mutable_grad() = g.to(at::kDouble);
        }
        fast.step(0.1);
        reference.step(0.1);
      }
    };
    SgdMomentum fast = make(single), reference = make(twice);
    steps(fast, reference, 2);
    SgdMomentum resumed = make(single), resumed_reference = make(twice);
    resumed.load_velocity(as_checkpoint_holds(fast.velocity()));
    resumed_reference.load_velocity(as_checkpoint_holds(reference.velocity()));
    EXPECT_EQ(resumed.velocity().at("c").strides(), single[2].strides());
    steps(resumed, resumed_reference, 2);
    for (size_t i = 0; i < count; ++i)
      EXPECT_TRUE(at::allclose(single[i].to(at::kDouble), twice[i], 1e-5, 1e-6)) << nesterov << " " << i;
    for (const std::string name : {"w", "b", "c"})
      EXPECT_TRUE(at::allclose(resumed.velocity().at(name).to(at::kDouble),
                               resumed_reference.velocity().at(name), 1e-5, 1e-6))
          << nesterov << " " << name;
  }
}

// The trainer loads a checkpoint's velocities before model.memory_format turns the weights
// channels-last: the velocity follows at the next step, and the update equals the contiguous one.
TEST(SgdMomentum, ALoadedVelocityFollowsItsParameterIntoChannelsLast) {
  at::manual_seed(11);
  const at::Tensor start = at::randn({8, 4, 3, 3}), velocity = at::randn({8, 4, 3, 3}),
                   grad = at::randn({8, 4, 3, 3});
  at::Tensor moved = start.clone().requires_grad_(), stays = start.clone().requires_grad_();
  SgdMomentum moving({{"w", moved, true, 1.0}}, OptimizerOptions{}, 1e-2);
  SgdMomentum staying({{"w", stays, true, 1.0}}, OptimizerOptions{}, 1e-2);
  moving.load_velocity({{"w", velocity}});
  staying.load_velocity({{"w", velocity}});
  moved.set_data(moved.contiguous(at::MemoryFormat::ChannelsLast));
  moved.mutable_grad() = grad.contiguous(at::MemoryFormat::ChannelsLast);
  stays.mutable_grad() = grad;
  moving.step(0.1);
  staying.step(0.1);
  EXPECT_EQ(moving.velocity().at("w").strides(), moved.strides());
  EXPECT_TRUE(at::allclose(moved, stays, 1e-6, 1e-7));
  EXPECT_TRUE(at::allclose(moving.velocity().at("w"), staying.velocity().at("w"), 1e-6, 1e-7));
}

TEST(SgdMomentum, VelocityOfAnotherShapeInACheckpointIsAUserError) {
  at::Tensor w = at::zeros({4, 3}).requires_grad_();
  SgdMomentum optimizer({{"w", w, true, 1.0}}, OptimizerOptions{}, 0);
  EXPECT_THROW(
      {
        try {
          optimizer.load_velocity({{"w", at::zeros({4})}});
        } catch (const UserError& error) {
          EXPECT_NE(std::string(error.what()).find("'w'"), std::string::npos) << error.what();
          throw;
        }
      },
      UserError);
}

TEST(SgdMomentum, DeepLabDecaysConvWeightsOnlyAndMultipliesConvBiasesAndTheLastLayer) {
  model::ModelOptions model_options;
  model_options.backbone = "mobilenet_v2";
  model::DeepLab net(model_options, 3);
  OptimizerOptions options;
  options.bias_multiplier = 2;
  options.last_layer_gradient_multiplier = 10;
  int decayed = 0, batch_norm = 0;
  for (const auto& p : deeplab_parameters(*net, options)) {
    if (p.name == "logits.weight") {
      EXPECT_TRUE(p.decay && p.multiplier == 10) << p.name;
    }
    if (p.name == "logits.bias") {
      EXPECT_TRUE(!p.decay && p.multiplier == 20) << p.name;
    }
    if (p.name.find("bn") != std::string::npos || p.name.find(".1.weight") != std::string::npos) {
      if (p.tensor.dim() == 1) {
        EXPECT_FALSE(p.decay) << p.name;
        EXPECT_EQ(p.multiplier, 1.0) << p.name;
        ++batch_norm;
      }
    }
    decayed += p.decay;
  }
  EXPECT_GT(batch_norm, 10);
  EXPECT_GT(decayed, 50);
}

TEST(RunOptions, TheOptionsOfSeeingARunAreValidatedByName) {
  RunOptions options;
  options.run_dir = "run";
  options.tensorboard_images = -1;
  try {
    options.validate();
    ADD_FAILURE() << "train.tensorboard_images -1 accepted";
  } catch (const OptionError& error) {
    EXPECT_NE(std::string(error.what()).find("train.tensorboard_images"), std::string::npos) << error.what();
  }
  options.tensorboard_images = 0;
  options.timeline_steps = "7:3";
  EXPECT_THROW(options.validate(), OptionError);
  options.timeline_steps = "3:7";
  EXPECT_NO_THROW(options.validate());
}

// train.target_miou and the evaluation period: a target is a fraction in (0, 1] and needs evaluations;
// the period is given in steps or in epochs, not both, and epochs round to whole steps.
TEST(RunOptions, TargetAndEvaluationPeriodAreValidatedByName) {
  const auto refusal = [](const RunOptions& options) -> std::string {
    try {
      options.validate();
    } catch (const OptionError& error) {
      return error.message();
    }
    return "";
  };
  RunOptions options;
  options.run_dir = "run";
  options.target_miou = 0.9;
  EXPECT_NE(refusal(options).find("--train.target_miou = 0.9 is not allowed; allowed: 0 unless the run evaluates"),
            std::string::npos);
  options.eval_every_epochs = 0.5;
  EXPECT_EQ(refusal(options), "");
  EXPECT_EQ(options.evaluation_period(10.0), 5);
  EXPECT_EQ(options.evaluation_period(0.4), 1);  // at least every step
  options.target_miou = 85;
  EXPECT_NE(refusal(options).find("a fraction: 0.85 for 85%"), std::string::npos) << refusal(options);
  options.target_miou = std::nan("");
  EXPECT_NE(refusal(options).find("train.target_miou"), std::string::npos);
  options.target_miou = 0.9;
  options.eval_every = 100;
  EXPECT_NE(refusal(options).find("evaluate every N steps or every N epochs, not both"), std::string::npos);
  options.eval_every_epochs = 0;
  EXPECT_EQ(refusal(options), "");
  EXPECT_EQ(options.evaluation_period(10.0), 100);
}

}  // namespace
}  // namespace atrous::train
