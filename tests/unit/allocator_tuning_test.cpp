#include <gtest/gtest.h>

#include "atrous/core/allocator_tuning.h"

namespace atrous {
namespace {

TEST(AllocatorTuning, AddsMallocSettingsToWhateverTunablesExist) {
  auto fresh = tuned_glibc_tunables(std::nullopt);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->rfind("glibc.malloc.mmap_threshold=", 0), 0u) << *fresh;
  EXPECT_NE(fresh->find("glibc.malloc.trim_threshold="), std::string::npos) << *fresh;
  EXPECT_EQ(tuned_glibc_tunables(std::string()), fresh);

  auto appended = tuned_glibc_tunables(std::string("glibc.pthread.rseq=0"));
  ASSERT_TRUE(appended.has_value());
  EXPECT_EQ(*appended, "glibc.pthread.rseq=0:" + *fresh);
}

TEST(AllocatorTuning, LeavesTheUsersOwnMallocSettingsAlone) {
  EXPECT_FALSE(tuned_glibc_tunables(std::string("glibc.malloc.arena_max=2")).has_value());
  EXPECT_FALSE(tuned_glibc_tunables(tuned_glibc_tunables(std::nullopt)).has_value());  // no second round
}

}  // namespace
}  // namespace atrous
