#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <thread>

#include "atrous/core/intra_op_threads.h"

namespace atrous {
namespace {

TEST(IntraOpThreads, AHelperThreadStaysSingleThreadedAndTheMainThreadKeepsItsSetting) {
  at::set_num_threads(2);
  int helper_threads = -1;
  std::thread helper([&] {
    use_one_intra_op_thread_in_this_thread();
    at::Tensor x = at::rand({1, 3, 400, 400});
    at::upsample_bilinear2d(x, {600, 600}, true).sum();  // a parallel operator must not reset it
    helper_threads = at::get_num_threads();
  });
  helper.join();
  EXPECT_EQ(helper_threads, 1);
  EXPECT_EQ(at::get_num_threads(), 2);
}

}  // namespace
}  // namespace atrous
