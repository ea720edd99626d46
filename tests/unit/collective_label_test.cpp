#include <gtest/gtest.h>

#include "atrous/core/error.h"
#include "atrous/distributed/collective_label.h"
#include "atrous/distributed/collective_types.h"
#include "atrous/distributed/communicator.h"

namespace atrous::distributed {
namespace {

CollectiveLabel make_label(const char* collective, int64_t count, at::ScalarType dtype, uint64_t sequence) {
  CollectiveLabel label;
  label.collective = collective;
  label.count = count;
  label.dtype = dtype;
  label.sequence = sequence;
  return label;
}

TEST(CollectiveLabel, NamesEachKindOfCollective) {
  CollectiveLabel allreduce = make_label("allreduce", 1024, at::kFloat, 12);
  allreduce.op = ReduceOp::average;
  EXPECT_EQ(allreduce.text(), "collective #12 (allreduce(average) of 1024 float32)");
  CollectiveLabel broadcast = make_label("broadcast", 8, at::kLong, 13);
  broadcast.root = 0;
  EXPECT_EQ(broadcast.text(), "collective #13 (broadcast of 8 int64 from rank 0)");
  EXPECT_EQ(make_label("allgather", 3, at::kDouble, 14).text(),
            "collective #14 (allgather of 3 float64 per rank)");
  EXPECT_EQ(make_label("barrier", 0, at::ScalarType::Undefined, 15).text(), "collective #15 (barrier)");
  EXPECT_EQ(make_label("allreduce", 2, at::kBFloat16, 0).text(),
            "collective #0 (allreduce(sum) of 2 bfloat16)");
}

TEST(CollectiveLabel, SaysWhatTheCollectiveIsForUnlessOther) {
  CollectiveLabel label = make_label("allreduce", 64, at::kDouble, 16);
  label.purpose = CollectivePurpose::batch_norm;
  EXPECT_EQ(label.text(), "collective #16 (allreduce(sum) of 64 float64 for batch_norm)");
  label.purpose = CollectivePurpose::step_agreement;
  EXPECT_EQ(label.text(), "collective #16 (allreduce(sum) of 64 float64 for step_agreement)");
  label.purpose = CollectivePurpose::other;
  EXPECT_EQ(label.text(), "collective #16 (allreduce(sum) of 64 float64)");
}

TEST(CollectiveLabel, TimeoutErrorSaysWhatHappenedAndWhy) {
  const UserError error = collective_timeout_error(make_label("barrier", 0, at::ScalarType::Undefined, 7),
                                                   2.5, "stopping the job", ATROUS_HERE);
  EXPECT_EQ(
      error.message(),
      "collective #7 (barrier) did not complete within dist.timeout_s = 2.5 s: a rank died or hangs, or "
      "the ranks issued collectives in different orders; stopping the job");
}

TEST(CollectiveTypes, EveryDtypeOfTheTableHasANameAndAnMpiDatatype) {
  const std::vector<std::pair<at::ScalarType, std::string>> table = {
      {at::kFloat, "float32"}, {at::kDouble, "float64"}, {at::kHalf, "float16"}, {at::kBFloat16, "bfloat16"},
      {at::kInt, "int32"},     {at::kLong, "int64"},     {at::kByte, "uint8"}};
  for (const auto& [dtype, name] : table) {
    EXPECT_TRUE(is_collective_dtype(dtype)) << name;
    EXPECT_EQ(collective_dtype_name(dtype), name);
    EXPECT_NO_THROW(mpi_datatype_of(dtype)) << name;
  }
  EXPECT_FALSE(is_collective_dtype(at::kBool));
  EXPECT_THROW(collective_dtype_name(at::kBool), InternalError);
  EXPECT_THROW(mpi_datatype_of(at::kComplexFloat), InternalError);
}

TEST(CommunicatorOptions, TheTimeoutMustBePositive) {
  CommunicatorOptions options;
  options.timeout_s = 0;
  EXPECT_THROW(options.validate(), OptionError);
  options.timeout_s = 0.5;
  EXPECT_NO_THROW(options.validate());
}

TEST(CommunicatorOptions, TheStallWarningIsOffAtZeroAndNeverNegative) {
  CommunicatorOptions options;
  options.stall_warning_s = 0;
  EXPECT_NO_THROW(options.validate());
  options.stall_warning_s = -1;
  try {
    options.validate();
    FAIL() << "a negative dist.stall_warning_s was accepted";
  } catch (const OptionError& error) {
    EXPECT_NE(std::string(error.what()).find("dist.stall_warning_s"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace atrous::distributed
