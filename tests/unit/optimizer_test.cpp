// The optimizers against an independent implementation of the published formulas, written here in
// double-precision C++ on plain vectors (no ATen): LARS (You et al. 2017, in MLPerf's form) and LAMB
// (You et al. 2019) with weight decay, the exclusion of biases and batch-norm parameters, gradient
// multipliers, LAMB's bias correction and global-norm clipping, over the first 5 updates of a small
// model; the registry; state that round-trips a checkpoint and resumes bit for bit; refusals.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/train/gradient_clipping.h"
#include "atrous/train/lr_schedule.h"
#include "atrous/train/optimizer_registry.h"
#include "atrous/train/sgd_momentum.h"

namespace atrous::train {
namespace {

using Values = std::vector<double>;

// A parameter of the small model: its shape, its treatment, and the quadratic loss that gives its
// gradient, g = a * w + b elementwise (a > 0), so that every step's gradient depends on the weights.
struct ToyParameter {
  std::string name;
  std::vector<int64_t> shape;
  bool decay;
  double multiplier;
  Values start, a, b;
};

std::vector<ToyParameter> toy_model() {
  std::vector<ToyParameter> model{{"conv.weight", {3, 2, 1, 1}, true, 1.0, {}, {}, {}},
                                  {"conv.bias", {3}, false, 2.0, {}, {}, {}},
                                  {"bn.weight", {2}, false, 1.0, {}, {}, {}},
                                  {"logits.weight", {2, 3}, true, 0.5, {}, {}, {}},
                                  {"zero.weight", {2, 2}, true, 1.0, {}, {}, {}}};  // |w| = 0: ratio 1
  uint64_t state = 12345;
  auto uniform = [&] {  // a fixed sequence in [-1, 1), the same on every platform
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return double(state >> 11) / double(1ull << 53) * 2 - 1;
  };
  for (ToyParameter& p : model) {
    int64_t n = 1;
    for (int64_t size : p.shape) n *= size;
    for (int64_t i = 0; i < n; ++i) {
      p.start.push_back(p.name == "zero.weight" ? 0.0 : uniform());
      p.a.push_back(1.5 + uniform());
      p.b.push_back(uniform());
    }
  }
  return model;
}

double norm(const Values& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum);
}

struct Recipe {
  std::string optimizer;
  double weight_decay = 0.01;
  double max_grad_norm = 0;
  bool exclude = true;  // bn_and_bias
  bool nesterov = false;
};

// The reference: 5 updates in double precision, lr of update t = 0.1 / t.
std::vector<Values> reference_weights(const Recipe& r, const OptimizerOptions& o) {
  std::vector<ToyParameter> model = toy_model();
  std::vector<Values> w, s1, s2;
  for (const ToyParameter& p : model) {
    w.push_back(p.start);
    s1.emplace_back(p.start.size(), 0.0);
    s2.emplace_back(p.start.size(), 0.0);
  }
  for (int t = 1; t <= 5; ++t) {
    const double lr = 0.1 / t;
    std::vector<Values> g(model.size());
    double total = 0;
    for (size_t k = 0; k < model.size(); ++k) {
      for (size_t i = 0; i < w[k].size(); ++i) g[k].push_back(model[k].a[i] * w[k][i] + model[k].b[i]);
      total += norm(g[k]) * norm(g[k]);
    }
    total = std::sqrt(total);
    if (r.max_grad_norm > 0 && r.max_grad_norm / (total + 1e-6) < 1)
      for (Values& gk : g)
        for (double& x : gk) x *= r.max_grad_norm / (total + 1e-6);
    for (size_t k = 0; k < model.size(); ++k) {
      const bool adapted = !r.exclude || model[k].decay;
      const double wd = adapted ? r.weight_decay : 0.0;
      for (double& x : g[k]) x *= model[k].multiplier;
      const size_t n = w[k].size();
      if (r.optimizer == "lars") {
        const double wn = norm(w[k]), gn = norm(g[k]);
        const double trust = adapted && wn > 0 && gn > 0 ? o.lars_eta * wn / (gn + wd * wn) : 1.0;
        for (size_t i = 0; i < n; ++i) {
          const double d = g[k][i] + wd * w[k][i], rate = lr * trust;
          s1[k][i] = o.momentum * s1[k][i] + rate * d;
          w[k][i] -= r.nesterov ? o.momentum * s1[k][i] + rate * d : s1[k][i];
        }
      } else {  // lamb
        Values u(n);
        for (size_t i = 0; i < n; ++i) {
          s1[k][i] = o.beta1 * s1[k][i] + (1 - o.beta1) * g[k][i];
          s2[k][i] = o.beta2 * s2[k][i] + (1 - o.beta2) * g[k][i] * g[k][i];
          const double m_hat = s1[k][i] / (1 - std::pow(o.beta1, t));
          const double v_hat = s2[k][i] / (1 - std::pow(o.beta2, t));
          u[i] = m_hat / (std::sqrt(v_hat) + o.eps) + wd * w[k][i];
        }
        const double wn = norm(w[k]), un = norm(u);
        const double trust = adapted && wn > 0 && un > 0 ? wn / un : 1.0;
        for (size_t i = 0; i < n; ++i) w[k][i] -= lr * trust * u[i];
      }
    }
  }
  return w;
}

OptimizerOptions options_of(const Recipe& r) {
  OptimizerOptions o;
  o.optimizer = r.optimizer;
  o.lars_eta = 0.5;  // large enough that LARS's updates are far above float32's rounding
  o.max_grad_norm = r.max_grad_norm;
  o.nesterov = r.nesterov;
  o.exclude_from_adaptation = r.exclude ? AdaptationExclusion::bn_and_bias : AdaptationExclusion::none;
  return o;
}

// The same 5 updates through atrous: gradients set from the loss, clip_gradient_norm, step.
struct AtrousRun {
  std::vector<ToyParameter> model = toy_model();
  std::vector<at::Tensor> tensors;
  std::unique_ptr<Optimizer> optimizer;

  AtrousRun(const Recipe& r, at::ScalarType dtype) {
    std::vector<OptimizedParameter> parameters;
    for (const ToyParameter& p : model) {
      tensors.push_back(at::tensor(p.start, at::kDouble).view(p.shape).to(dtype).requires_grad_());
      parameters.push_back({p.name, tensors.back(), p.decay, p.multiplier});
    }
    optimizer = make_optimizer(parameters, options_of(r), r.weight_decay);
  }
  void steps(const Recipe& r, int from, int to) {
    for (int t = from; t <= to; ++t) {
      for (size_t k = 0; k < model.size(); ++k) {
        const at::Tensor a = at::tensor(model[k].a, at::kDouble).view(model[k].shape).to(tensors[k].dtype());
        const at::Tensor b = at::tensor(model[k].b, at::kDouble).view(model[k].shape).to(tensors[k].dtype());
        tensors[k].mutable_grad() = a * tensors[k].detach() + b;
      }
      clip_gradient_norm(optimizer->parameters(), r.max_grad_norm);
      optimizer->step(0.1 / t);
      optimizer->zero_grad();
    }
  }
};

double worst_difference(const AtrousRun& run, const std::vector<Values>& reference) {
  double worst = 0;
  for (size_t k = 0; k < reference.size(); ++k) {
    const at::Tensor value = run.tensors[k].detach().to(at::kDouble).flatten();
    for (size_t i = 0; i < reference[k].size(); ++i)
      worst = std::max(worst, std::abs(value[int64_t(i)].item<double>() - reference[k][i]));
  }
  return worst;
}

std::vector<Recipe> recipes() {
  return {{"lars", 0.01, 0, true, false}, {"lars", 0.01, 1.0, true, false},
          {"lars", 0.0, 0, false, true},  {"lars", 0.05, 0.5, false, false},
          {"lamb", 0.01, 0, true, false}, {"lamb", 0.01, 1.0, true, false},
          {"lamb", 0.0, 0, false, false}, {"lamb", 0.1, 0.5, false, false}};
}

std::string describe(const Recipe& r) {
  return to_text(r.optimizer, " decay ", r.weight_decay, " clip ", r.max_grad_norm,
                 r.exclude ? " bn_and_bias" : " none", r.nesterov ? " nesterov" : "");
}

TEST(LarsAndLamb, TheFirstFiveUpdatesFollowThePublishedFormulas) {
  for (const Recipe& r : recipes()) {
    const std::vector<Values> reference = reference_weights(r, options_of(r));
    AtrousRun exact(r, at::kDouble), single(r, at::kFloat);
    exact.steps(r, 1, 5);
    single.steps(r, 1, 5);
    EXPECT_LT(worst_difference(exact, reference), 1e-12) << describe(r);
    EXPECT_LT(worst_difference(single, reference), 1e-6) << describe(r);
    EXPECT_EQ(exact.optimizer->steps(), 5) << describe(r);
    double moved = 0;  // the comparison says nothing if the weights hardly moved
    const std::vector<ToyParameter> start = toy_model();
    for (size_t k = 0; k < reference.size(); ++k)
      for (size_t i = 0; i < reference[k].size(); ++i)
        moved = std::max(moved, std::abs(reference[k][i] - start[k].start[i]));
    EXPECT_GT(moved, 1e-2) << describe(r);
  }
}

TEST(LarsAndLamb, AZeroWeightTakesTheUnadaptedStep) {
  // zero.weight starts at 0: its ratio is 1, so LAMB's first update is -lr * u there.
  const Recipe r{"lamb", 0.01, 0, true, false};
  AtrousRun run(r, at::kDouble);
  run.steps(r, 1, 1);
  const at::Tensor moved = run.tensors[4].detach();
  // u = m_hat / (sqrt(v_hat) + eps) = b / (|b| + eps) at the first step (w = 0, g = b).
  const double b0 = toy_model()[4].b[0];
  EXPECT_NEAR(moved.flatten()[0].item<double>(), -0.1 * b0 / (std::abs(b0) + 1e-6), 1e-12);
}

TEST(GradientClipping, TheNormIsReturnedAndGradientsScaleOnlyAboveTheMaximum) {
  at::Tensor a = at::zeros({2}, at::kDouble).requires_grad_(),
             b = at::zeros({1}, at::kDouble).requires_grad_();
  at::Tensor unused = at::zeros({1}, at::kDouble).requires_grad_();
  const std::vector<OptimizedParameter> parameters{
      {"a", a, true, 1.0}, {"b", b, false, 1.0}, {"u", unused, true, 1.0}};
  a.mutable_grad() = at::tensor({3.0, 0.0}, at::kDouble);
  b.mutable_grad() = at::tensor({4.0}, at::kDouble);
  EXPECT_DOUBLE_EQ(clip_gradient_norm(parameters, 0), 5.0);  // off: nothing changes
  EXPECT_EQ(a.grad()[0].item<double>(), 3.0);
  EXPECT_DOUBLE_EQ(clip_gradient_norm(parameters, 10), 5.0);  // below the maximum: nothing changes
  EXPECT_EQ(b.grad()[0].item<double>(), 4.0);
  EXPECT_DOUBLE_EQ(clip_gradient_norm(parameters, 1), 5.0);
  EXPECT_NEAR(a.grad()[0].item<double>(), 3.0 / (5.0 + 1e-6), 1e-15);
  EXPECT_NEAR(b.grad()[0].item<double>(), 4.0 / (5.0 + 1e-6), 1e-15);
  EXPECT_FALSE(unused.grad().defined());
}

// A run interrupted after 3 updates, its state written as a checkpoint holds it (contiguous CPU
// copies) and loaded into a fresh optimizer, continues exactly as the uninterrupted run.
TEST(Optimizers, StateResumesBitForBit) {
  for (const std::string name : {"sgd", "lars", "lamb"}) {
    const Recipe r{name, 0.01, 1.0, true, false};
    AtrousRun whole(r, at::kFloat), first(r, at::kFloat);
    whole.steps(r, 1, 5);
    first.steps(r, 1, 3);
    OptimizerState saved = first.optimizer->state();
    for (auto& [key, tensor] : saved.tensors) tensor = tensor.detach().cpu().contiguous().clone();
    EXPECT_EQ(saved.optimizer, name);
    EXPECT_EQ(saved.steps, 3);
    EXPECT_EQ(saved.tensors.size(), first.optimizer->slots().size() * whole.model.size()) << name;
    AtrousRun resumed(r, at::kFloat);
    for (size_t k = 0; k < resumed.tensors.size(); ++k)
      resumed.tensors[k].detach().copy_(first.tensors[k].detach());
    resumed.optimizer->load_state(saved);
    resumed.steps(r, 4, 5);
    for (size_t k = 0; k < whole.tensors.size(); ++k)
      EXPECT_TRUE(at::equal(resumed.tensors[k], whole.tensors[k])) << name << " " << whole.model[k].name;
  }
}

std::string user_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const UserError& error) {
    return error.message();
  }
  return "";
}

TEST(Optimizers, StateOfAnotherOptimizerSlotOrShapeIsRefusedNamingIt) {
  const Recipe lamb{"lamb", 0.01, 0, true, false};
  AtrousRun run(lamb, at::kFloat);
  OptimizerState sgd_state{"sgd", 4, {{"velocity/conv.bias", at::zeros({3})}}};
  const std::string other = user_error_of([&] { run.optimizer->load_state(sgd_state); });
  EXPECT_NE(other.find("written by optim.optimizer sgd, and this run uses lamb"), std::string::npos) << other;
  OptimizerState wrong_slot{"lamb", 4, {{"velocity/conv.bias", at::zeros({3})}}};
  EXPECT_NE(
      user_error_of([&] { run.optimizer->load_state(wrong_slot); }).find("'velocity/conv.bias', not a slot"),
      std::string::npos);
  OptimizerState wrong_shape{"lamb", 4, {{"exp_avg/conv.bias", at::zeros({4})}}};
  EXPECT_NE(
      user_error_of([&] { run.optimizer->load_state(wrong_shape); }).find("for 'conv.bias', whose shape"),
      std::string::npos);
  OptimizerState unknown{"lamb", 4, {{"exp_avg/gone", at::zeros({4})}}};
  EXPECT_NE(user_error_of([&] { run.optimizer->load_state(unknown); }).find("'gone', not a parameter"),
            std::string::npos);
}

TEST(Optimizers, StateSizeIsOneTensorPerSlotAndParameter) {
  for (const auto& [name, slots] :
       std::vector<std::pair<std::string, int64_t>>{{"sgd", 1}, {"lars", 1}, {"lamb", 2}}) {
    AtrousRun run(Recipe{name, 0, 0, true, false}, at::kFloat);
    int64_t elements = 0;
    for (const ToyParameter& p : run.model) elements += int64_t(p.start.size());
    EXPECT_EQ(run.optimizer->state_bytes(), slots * elements * 4) << name;
    EXPECT_NE(
        optimizer_state_text(*run.optimizer)
            .find(name == "lamb" ? "2 tensors per parameter: exp_avg, exp_avg_sq" : "1 tensor per parameter"),
        std::string::npos)
        << optimizer_state_text(*run.optimizer);
  }
}

std::string option_error_of(const OptimizerOptions& options) {
  try {
    options.validate();
  } catch (const OptionError& error) {
    return error.message();
  }
  return "";
}

TEST(Optimizers, OptionsAreValidatedByName) {
  const double infinity = std::numeric_limits<double>::infinity();
  const std::vector<std::pair<std::string, std::function<void(OptimizerOptions&)>>> cases = {
      {"--optim.optimizer = adam", [](OptimizerOptions& o) { o.optimizer = "adam"; }},
      {"--optim.lars_eta = 0", [](OptimizerOptions& o) { o.lars_eta = 0; }},
      {"--optim.lars_eta = -1", [](OptimizerOptions& o) { o.lars_eta = -1; }},
      {"--optim.eps = 0", [](OptimizerOptions& o) { o.eps = 0; }},
      {"--optim.beta1 = 1", [](OptimizerOptions& o) { o.beta1 = 1; }},
      {"--optim.beta1 = 0", [](OptimizerOptions& o) { o.beta1 = 0; }},
      {"--optim.beta2 = 1.5", [](OptimizerOptions& o) { o.beta2 = 1.5; }},
      {"--optim.weight_decay = 1e+308", [](OptimizerOptions& o) { o.weight_decay = 1e308; }},
      {"--optim.weight_decay = 1.5", [](OptimizerOptions& o) { o.weight_decay = 1.5; }},
      {"--optim.max_grad_norm = -1", [](OptimizerOptions& o) { o.max_grad_norm = -1; }},
      {"--optim.max_grad_norm = inf", [&](OptimizerOptions& o) { o.max_grad_norm = infinity; }},
      {"--optim.nesterov = true", [](OptimizerOptions& o) { o.optimizer = "lamb", o.nesterov = true; }},
  };
  for (const auto& [expected, spoil] : cases) {
    OptimizerOptions options;
    spoil(options);
    const std::string message = option_error_of(options);
    EXPECT_NE(message.find(expected), std::string::npos) << expected << ": " << message;
  }
  EXPECT_NE(option_error_of([] {
              OptimizerOptions o;
              o.optimizer = "adam";
              return o;
            }())
                .find("allowed: sgd, lars or lamb"),
            std::string::npos);
  OptimizerOptions fine;
  for (const std::string name : {"sgd", "lars", "lamb"}) {
    fine.optimizer = name;
    EXPECT_EQ(option_error_of(fine), "") << name;
  }
}

TEST(OptimizerRegistry, ListsEveryOptimizerWithSgdFirst) {
  std::vector<std::string> names;
  for (const OptimizerEntry& entry : optimizer_registry()) names.push_back(entry.name);
  EXPECT_EQ(names, (std::vector<std::string>{"sgd", "lars", "lamb"}));
  for (const OptimizerEntry& entry : optimizer_registry()) {
    std::unique_ptr<Optimizer> made = entry.make({}, OptimizerOptions{}, 0);
    EXPECT_EQ(made->name(), entry.name);
  }
}

TEST(LrSchedule, SqrtScalingAndWarmupInEpochs) {
  LrOptions options;
  options.lr = 0.01;
  options.lr_policy = LrPolicy::step;
  options.step_size = 1000000;
  options.lr_scaling = LrScaling::sqrt;
  options.base_batch = 8;
  EXPECT_NEAR(LrSchedule(options, 100, 128).base_lr(), 0.04, 1e-15);
  options.warmup_epochs = 1.5;
  const LrSchedule warm(options, 100, 32, /*steps_per_epoch=*/10);  // 15 warmup steps at every batch
  EXPECT_EQ(warm.warmup_steps(), 15);
  EXPECT_NEAR(warm(0), 0.02 / 15, 1e-15);
  EXPECT_NEAR(warm(14), 0.02, 1e-15);
  EXPECT_NEAR(warm(15), 0.02, 1e-15);
  EXPECT_EQ(LrSchedule(options, 100, 32, 2.5).warmup_steps(), 4);  // rounded up
  options.warmup_steps = 5;
  try {
    LrSchedule(options, 100, 32, 10);
    FAIL() << "warmup in steps and epochs accepted";
  } catch (const OptionError& error) {
    EXPECT_NE(error.message().find("give the warmup in steps or in epochs, not both"), std::string::npos)
        << error.message();
  }
}

}  // namespace
}  // namespace atrous::train
