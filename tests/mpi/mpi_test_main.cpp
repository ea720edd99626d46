// Runs the MPI tests on every rank of a job that ctest starts with `--expect-ranks N`.
//  - The run fails unless the job really has N ranks: a launcher that silently started single
//    processes cannot pass.
//  - Rank 0 prints GoogleTest's usual output; other ranks print only their failures, with their
//    rank label.
//  - The verdicts of all ranks are combined: the job passes only if every rank ran at least one test
//    and every test passed on every rank.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <torch/cuda.h>

#include "atrous/core/environment.h"
#include "atrous/core/error.h"
#include "atrous/core/rank_label.h"
#include "atrous/distributed/gpu_assignment.h"
#include "mpi_test_world.h"

namespace atrous::test_support {
namespace {

distributed::World* the_world = nullptr;
distributed::MpiCommunicator* the_communicator = nullptr;

// Prints the failures of a rank other than 0. (It must not ask GoogleTest for the current test
// while a result is being reported: GoogleTest holds its lock then.)
class FailurePrinter : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo& test) override {
    test_name_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::cerr << rank_label().text() << " " << (result.file_name() ? result.file_name() : "?") << ":"
              << result.line_number() << ": failure in " << test_name_ << "\n"
              << result.message() << std::endl;
  }
  std::string test_name_;
};

int expected_ranks(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--expect-ranks")
      if (auto ranks = parse_integer(argv[i + 1], 1, 1 << 20)) return static_cast<int>(*ranks);
  std::cerr << "usage: " << argv[0] << " --expect-ranks N [gtest options]" << std::endl;
  std::exit(2);
}

}  // namespace

const distributed::World& test_world() {
  return *the_world;
}
distributed::MpiCommunicator& test_communicator() {
  return *the_communicator;
}

namespace {
distributed::GpuAssignment assigned_gpu() {
  if (!torch::cuda::is_available()) return {-1, "LibTorch sees no usable GPU (or has no CUDA)"};
  const auto share = environment_variable("ATROUS_TEST_SHARE_GPUS");
  return distributed::assign_gpu(the_world->local_rank(), the_world->local_size(),
                                 static_cast<int>(torch::cuda::device_count()), share && *share == "1");
}
}  // namespace

std::string why_no_gpu() {
  return assigned_gpu().refusal;
}
int test_gpu() {
  return assigned_gpu().gpu;
}

}  // namespace atrous::test_support

int main(int argc, char** argv) {
  using namespace atrous;
  const int expected = test_support::expected_ranks(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  // The MPI tests compute on CPUs; the GPU tests pick GPU <local rank> themselves, so that a node
  // with fewer GPUs than ranks still starts (and they skip).
  distributed::WorldOptions options;
  options.device = distributed::DeviceChoice::cpu;
  distributed::World world(&argc, &argv, options);
  test_support::the_world = &world;
  distributed::MpiCommunicator communicator(world.comm(), distributed::CommunicatorOptions{});
  test_support::the_communicator = &communicator;
  if (world.size() != expected) {
    std::cerr << rank_label().text() << " started for " << expected << " ranks but the job has "
              << world.size() << "; check the MPI launcher" << std::endl;
    return 1;
  }
  if (!world.is_root()) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new test_support::FailurePrinter);
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  if (::testing::UnitTest::GetInstance()->test_to_run_count() == 0) {
    std::cerr << rank_label().text() << " no test ran" << std::endl;
    failed = 1;
  }
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, world.comm());
  if (world.is_root())
    std::cout << (any_failed ? "FAILED on at least one of " : "PASSED on all ") << world.size() << " ranks"
              << std::endl;
  return any_failed;
}
