#include <gtest/gtest.h>

#include "atrous/core/rank_label.h"
#include "atrous/distributed/mpi_check.h"
#include "mpi_test_world.h"

namespace atrous::distributed {
namespace {

TEST(MpiCheck, FailedCallCarriesCallAndMpisOwnText) {
  const World& world = atrous::test_support::test_world();
  int value = 1;
  const int nobody = world.size();  // one past the last rank
  try {
    ATROUS_MPI_CHECK(MPI_Send(&value, 1, MPI_INT, nobody, 0, world.comm()));
    FAIL() << "MPI_Send to rank " << nobody << " succeeded";
  } catch (const LibraryError& error) {
    EXPECT_EQ(error.library(), "MPI");
    EXPECT_EQ(error.call(), "MPI_Send(&value, 1, MPI_INT, nobody, 0, world.comm())");
    EXPECT_NE(error.library_message().find("MPI_ERR_RANK"), std::string::npos) << error.what();
    EXPECT_EQ(std::string(error.what()).rfind(rank_label().text(), 0), 0u) << error.what();
  }
}

}  // namespace
}  // namespace atrous::distributed
