#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <limits>

#include "atrous/train/loss_scaler.h"

namespace atrous::train {
namespace {

std::vector<OptimizedParameter> parameters_with_grads(std::vector<at::Tensor> grads) {
  std::vector<OptimizedParameter> parameters;
  for (at::Tensor& grad : grads) {
    at::Tensor tensor = at::zeros_like(grad).requires_grad_(true);
    tensor.mutable_grad() = grad;
    parameters.push_back({"p" + std::to_string(parameters.size()), tensor});
  }
  return parameters;
}

TEST(LossScaler, DisabledScalesByOneAndNeverSkips) {
  LossScaler scaler(false);
  EXPECT_EQ(scaler.scale(), 1.0);
  const auto parameters = parameters_with_grads({at::full({2}, std::numeric_limits<float>::infinity())});
  EXPECT_FALSE(scaler.unscale(parameters));
  EXPECT_TRUE(std::isinf(parameters[0].tensor.grad()[0].item<float>()));  // untouched
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 1.0);
}

TEST(LossScaler, UnscaleDividesEveryGradientAndFindsInfAndNan) {
  LossScaler scaler(true, LossScalerSettings{8.0, 2.0, 0.5, 3, 1.0});
  const auto finite = parameters_with_grads({at::full({3}, 16.0f), at::full({2, 2}, -4.0f)});
  EXPECT_FALSE(scaler.unscale(finite));
  EXPECT_TRUE(at::allclose(finite[0].tensor.grad(), at::full({3}, 2.0f)));
  EXPECT_TRUE(at::allclose(finite[1].tensor.grad(), at::full({2, 2}, -0.5f)));
  for (float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    at::Tensor grad = at::ones({4});
    grad[2] = bad;
    EXPECT_TRUE(scaler.unscale(parameters_with_grads({at::ones({2}), grad}))) << bad;
  }
  // Opposite infinities sum to NaN but are found all the same; parameters without gradients are skipped.
  at::Tensor opposite =
      at::tensor({std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()});
  auto parameters = parameters_with_grads({opposite});
  parameters.push_back({"no_grad", at::zeros({2}).requires_grad_(true)});
  EXPECT_TRUE(scaler.unscale(parameters));
}

TEST(LossScaler, BacksOffOnOverflowGrowsAfterTheIntervalAndStopsAtTheMinimum) {
  LossScaler scaler(true, LossScalerSettings{8.0, 2.0, 0.5, 3, 2.0});
  EXPECT_EQ(scaler.scale(), 8.0);
  scaler.update(false);
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 8.0);
  EXPECT_EQ(scaler.good_steps(), 2);
  scaler.update(true);  // an overflow resets the count of good steps
  EXPECT_EQ(scaler.scale(), 4.0);
  EXPECT_EQ(scaler.good_steps(), 0);
  for (int i = 0; i < 3; ++i) scaler.update(false);
  EXPECT_EQ(scaler.scale(), 8.0);  // grown after 3 good steps in a row
  EXPECT_EQ(scaler.good_steps(), 0);
  scaler.update(true);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 2.0);
  EXPECT_TRUE(scaler.at_min_scale());
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 2.0);  // never below min_scale
}

TEST(LossScaler, RestoresACheckpointsStateAndKeepsItsOwnForCheckpointsWithout) {
  LossScaler scaler(true);
  EXPECT_EQ(scaler.scale(), 65536.0);
  scaler.restore(0, 0);  // a checkpoint of a bf16 or fp32 run
  EXPECT_EQ(scaler.scale(), 65536.0);
  scaler.restore(1024, 5);
  EXPECT_EQ(scaler.scale(), 1024.0);
  EXPECT_EQ(scaler.good_steps(), 5);
  LossScaler disabled(false);
  disabled.restore(1024, 5);
  EXPECT_EQ(disabled.scale(), 1.0);
}

}  // namespace
}  // namespace atrous::train
