// replicate_from_root: rank 0's parameters and buffers everywhere, and a model that differs between
// ranks is a UserError on every rank (naming the difference where it is), never a hang.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/distributed/model_replication.h"
#include "atrous/distributed/mpi_communicator.h"
#include "mpi_test_world.h"

namespace atrous::distributed {
namespace {

using atrous::test_support::test_communicator;

struct Model {
  std::vector<NamedTensor> parameters, buffers;
};

// conv1 (kernel x kernel) and a batch norm's running mean, filled with `value`.
Model small_model(float value, int64_t kernel = 3, int64_t channels = 8) {
  Model model;
  model.parameters.push_back({"conv1.weight", at::full({8, 3, kernel, kernel}, value).requires_grad_(true)});
  model.parameters.push_back({"conv1.bias", at::full({8}, value).requires_grad_(true)});
  model.buffers.push_back({"bn.running_mean", at::full({channels}, value)});
  return model;
}

// Runs replicate_from_root, which must throw a UserError, and returns its message.
std::string replication_error(const Model& model) {
  try {
    replicate_from_root(model.parameters, model.buffers, test_communicator());
  } catch (const UserError& error) {
    return error.message();
  }
  ADD_FAILURE() << "different models accepted";
  return "";
}

TEST(ModelReplication, ParametersAndBuffersBecomeRankZeros) {
  MpiCommunicator& comm = test_communicator();
  Model model = small_model(static_cast<float>(comm.rank() + 1));
  replicate_from_root(model.parameters, model.buffers, comm);
  for (const auto* list : {&model.parameters, &model.buffers})
    for (const NamedTensor& named : *list) EXPECT_TRUE(named.tensor.eq(1).all().item<bool>()) << named.name;
  EXPECT_TRUE(model.parameters[0].tensor.requires_grad());
}

TEST(ModelReplication, DifferentParametersAreAnErrorOnEveryRank) {
  MpiCommunicator& comm = test_communicator();
  const int odd_rank = comm.size() - 1;
  const std::string message = replication_error(small_model(0, comm.rank() == odd_rank ? 5 : 3));
  if (comm.rank() == odd_rank) {
    EXPECT_NE(message.find("parameter #0: rank 0 has conv1.weight Float [8, 3, 3, 3], this rank has "
                           "conv1.weight Float [8, 3, 5, 5]"),
              std::string::npos)
        << message;
  } else {
    EXPECT_NE(message.find("another rank's does not"), std::string::npos) << message;
  }
  comm.barrier()->wait();  // nobody hangs
}

TEST(ModelReplication, DifferentBuffersAreAnErrorOnEveryRank) {
  MpiCommunicator& comm = test_communicator();
  const int odd_rank = comm.size() - 1;
  const std::string message = replication_error(small_model(0, 3, comm.rank() == odd_rank ? 9 : 8));
  if (comm.rank() == odd_rank) {
    EXPECT_NE(message.find("buffer #0: rank 0 has bn.running_mean Float [8], this rank has bn.running_mean "
                           "Float [9]"),
              std::string::npos)
        << message;
  } else {
    EXPECT_NE(message.find("another rank's does not"), std::string::npos) << message;
  }
  comm.barrier()->wait();
}

TEST(ModelReplication, AMissingParameterIsNamed) {
  MpiCommunicator& comm = test_communicator();
  const int odd_rank = comm.size() - 1;
  Model model = small_model(0);
  if (comm.rank() == odd_rank) model.parameters.pop_back();
  const std::string message = replication_error(model);
  if (comm.rank() == odd_rank) {
    EXPECT_NE(message.find("parameter #1: rank 0 has conv1.bias Float [8], this rank has (nothing)"),
              std::string::npos)
        << message;
  }
  comm.barrier()->wait();
}

}  // namespace
}  // namespace atrous::distributed
