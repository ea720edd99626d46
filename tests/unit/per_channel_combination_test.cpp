// per_channel_combination against ATen's broadcasting expression, in both layouts and dtypes.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/distributed/per_channel_combination.h"

namespace atrous::distributed {
namespace {

at::Tensor reference(const at::Tensor& a, const at::Tensor& u, const at::Tensor& b, const at::Tensor& v,
                     const at::Tensor& k) {
  std::vector<int64_t> shape(u.dim(), 1);
  shape[1] = u.size(1);
  auto per = [&](const at::Tensor& c) { return c.to(at::kDouble).reshape(shape); };
  return per(a) * u.to(at::kDouble) + per(b) * v.to(at::kDouble) + per(k);
}

struct Case {
  std::vector<int64_t> sizes;
  at::ScalarType dtype;
  at::MemoryFormat format;
};

TEST(PerChannelCombination, MatchesTheBroadcastExpression) {
  const std::vector<Case> cases = {
      {{3, 5, 7, 6}, at::kFloat, at::MemoryFormat::Contiguous},
      {{3, 5, 7, 6}, at::kDouble, at::MemoryFormat::Contiguous},
      {{3, 5, 7, 6}, at::kFloat, at::MemoryFormat::ChannelsLast},
      {{2, 37, 4, 3}, at::kDouble, at::MemoryFormat::ChannelsLast},
      {{4, 6}, at::kFloat, at::MemoryFormat::Contiguous},           // [N, C]
      {{2, 3, 4, 5, 2}, at::kFloat, at::MemoryFormat::Contiguous},  // 5-d
      {{2, 3, 4, 5}, at::kBFloat16, at::MemoryFormat::Contiguous},  // ATen's path
      {{1, 1, 3, 3}, at::kFloat, at::MemoryFormat::ChannelsLast},   // both layouts at once
  };
  at::manual_seed(3);
  for (const Case& c : cases) {
    const int64_t channels = c.sizes[1];
    at::Tensor u = at::randn(c.sizes).to(c.dtype).contiguous(c.format);
    at::Tensor v = at::randn(c.sizes).to(c.dtype).contiguous(c.format);
    at::Tensor a = at::randn({channels}, at::kDouble), b = at::randn({channels}, at::kDouble),
               k = at::randn({channels}, at::kDouble);
    at::Tensor out = per_channel_combination(a, u, b, v, k);
    const std::string where = ::testing::PrintToString(c.sizes) + " " + c10::toString(c.dtype);
    EXPECT_EQ(out.scalar_type(), c.dtype) << where;
    EXPECT_EQ(out.sizes(), u.sizes()) << where;
    const double tolerance = c.dtype == at::kDouble ? 1e-12 : c.dtype == at::kFloat ? 1e-5 : 0.1;
    EXPECT_LE((out.to(at::kDouble) - reference(a, u, b, v, k)).abs().max().item<double>(), tolerance)
        << where;
  }
}

TEST(PerChannelCombination, ANonContiguousInputTakesATensPath) {
  at::Tensor u = at::randn({4, 3, 6, 5}).transpose(2, 3), v = at::randn({4, 3, 5, 6});
  at::Tensor a = at::rand({3}), b = at::rand({3}), k = at::rand({3});
  EXPECT_LE((per_channel_combination(a, u, b, v, k) - reference(a, u, b, v, k)).abs().max().item<double>(),
            1e-5);
}

TEST(PerChannelCombination, MismatchedArgumentsAreInternalErrors) {
  at::Tensor u = at::randn({2, 3, 4, 4});
  at::Tensor c3 = at::rand({3});
  EXPECT_THROW(per_channel_combination(c3, u, c3, at::randn({2, 3, 4, 5}), c3), InternalError);
  EXPECT_THROW(per_channel_combination(at::rand({4}), u, c3, u, c3), InternalError);
  EXPECT_THROW(per_channel_combination(c3, u, c3, u.to(at::kDouble), c3), InternalError);
}

}  // namespace
}  // namespace atrous::distributed
