#include "atrous/core/tensor_layout.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace atrous {
namespace {

TEST(SameLayout, ComparesStridesOnlyWhereADimensionMovesElements) {
  const at::Tensor weight = at::zeros({16, 8, 3, 3});
  const at::Tensor channels_last = weight.contiguous(at::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(same_layout(weight, at::empty_like(weight)));
  EXPECT_TRUE(same_layout(channels_last, at::empty_like(channels_last)));
  EXPECT_FALSE(same_layout(weight, channels_last));
  EXPECT_FALSE(same_layout(weight, at::zeros({16, 8, 9})));  // other sizes, same storage order

  // A 1x1 kernel is contiguous and channels-last at once: its strides differ only where size is 1.
  const at::Tensor pointwise = at::zeros({16, 8, 1, 1});
  const at::Tensor pointwise_last = at::empty_strided({16, 8, 1, 1}, {8, 1, 8, 8});
  ASSERT_NE(pointwise.strides(), pointwise_last.strides());
  EXPECT_TRUE(same_layout(pointwise, pointwise_last));
  EXPECT_FALSE(same_layout(pointwise, pointwise.transpose(0, 1).contiguous().transpose(0, 1)));
}

}  // namespace
}  // namespace atrous
