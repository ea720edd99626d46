#include "atrous/distributed/collective_types.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <array>
#include <mutex>

#include "atrous/core/error.h"
#include "atrous/distributed/mpi_check.h"

namespace atrous::distributed {
namespace {

struct DtypeRow {
  at::ScalarType dtype;
  const char* name;
  MPI_Datatype mpi;
#if ATROUS_HAS_NCCL
  ncclDataType_t nccl;
#endif
};

#if ATROUS_HAS_NCCL
#define ATROUS_NCCL_COLUMN(value) , value
#else
#define ATROUS_NCCL_COLUMN(value)
#endif

const std::array<DtypeRow, 7>& dtype_table() {
  static const std::array<DtypeRow, 7> table{{
      {at::kFloat, "float32", MPI_FLOAT ATROUS_NCCL_COLUMN(ncclFloat32)},
      {at::kDouble, "float64", MPI_DOUBLE ATROUS_NCCL_COLUMN(ncclFloat64)},
      {at::kHalf, "float16", MPI_UINT16_T ATROUS_NCCL_COLUMN(ncclFloat16)},
      {at::kBFloat16, "bfloat16", MPI_UINT16_T ATROUS_NCCL_COLUMN(ncclBfloat16)},
      {at::kInt, "int32", MPI_INT32_T ATROUS_NCCL_COLUMN(ncclInt32)},
      {at::kLong, "int64", MPI_INT64_T ATROUS_NCCL_COLUMN(ncclInt64)},
      {at::kByte, "uint8", MPI_UINT8_T ATROUS_NCCL_COLUMN(ncclUint8)},
  }};
  return table;
}

const DtypeRow* find_dtype(at::ScalarType dtype) {
  for (const DtypeRow& row : dtype_table())
    if (row.dtype == dtype) return &row;
  return nullptr;
}

const DtypeRow& dtype_row(at::ScalarType dtype) {
  const DtypeRow* row = find_dtype(dtype);
  if (row == nullptr)
    throw InternalError(to_text("collectives do not move tensors of ", c10::toString(dtype)), ATROUS_HERE);
  return *row;
}

float add(float a, float b) {
  return a + b;
}
float larger(float a, float b) {
  return a > b ? a : b;
}
float smaller(float a, float b) {
  return a < b ? a : b;
}

// The user-defined MPI reduction of 16-bit floats: each pair combined in float32.
template <class Scalar, float (*Combine)(float, float)>
void reduce_16bit(void* in, void* inout, int* length, MPI_Datatype*) {
  auto* a = static_cast<const Scalar*>(in);
  auto* b = static_cast<Scalar*>(inout);
  for (int i = 0; i < *length; ++i)
    b[i] = static_cast<Scalar>(Combine(static_cast<float>(a[i]), static_cast<float>(b[i])));
}

struct ReductionRow {
  ReduceOp op;
  MPI_Op mpi;
  MPI_User_function* half;  // float16 over MPI
  MPI_User_function* bfloat16;
#if ATROUS_HAS_NCCL
  ncclRedOp_t nccl;
#endif
};

// In ReduceOp's order.
const std::array<ReductionRow, 4>& reduction_table() {
  using c10::BFloat16;
  using c10::Half;
  static const std::array<ReductionRow, 4> table{{
      {ReduceOp::sum, MPI_SUM, &reduce_16bit<Half, add>,
       &reduce_16bit<BFloat16, add> ATROUS_NCCL_COLUMN(ncclSum)},
      {ReduceOp::average, MPI_SUM, &reduce_16bit<Half, add>,
       &reduce_16bit<BFloat16, add> ATROUS_NCCL_COLUMN(ncclAvg)},
      {ReduceOp::max, MPI_MAX, &reduce_16bit<Half, larger>,
       &reduce_16bit<BFloat16, larger> ATROUS_NCCL_COLUMN(ncclMax)},
      {ReduceOp::min, MPI_MIN, &reduce_16bit<Half, smaller>,
       &reduce_16bit<BFloat16, smaller> ATROUS_NCCL_COLUMN(ncclMin)},
  }};
  return table;
}

#undef ATROUS_NCCL_COLUMN

const ReductionRow& reduction_row(ReduceOp op) {
  const auto index = static_cast<size_t>(op);
  ATROUS_ASSERT(index < reduction_table().size() && reduction_table()[index].op == op, "ReduceOp ",
                static_cast<int>(op), " has no row in the reduction table");
  return reduction_table()[index];
}

// The user-defined ops of every reduction for float16 ([0]) and bfloat16 ([1]), created once.
struct SixteenBitOps {
  std::array<std::array<MPI_Op, 2>, 4> ops;
};

const SixteenBitOps& sixteen_bit_ops() {
  static SixteenBitOps created;
  static std::once_flag once;
  std::call_once(once, [] {
    for (size_t i = 0; i < reduction_table().size(); ++i) {
      const ReductionRow& row = reduction_table()[i];
      ATROUS_MPI_CHECK(MPI_Op_create(row.half, /*commute=*/1, &created.ops[i][0]));
      ATROUS_MPI_CHECK(MPI_Op_create(row.bfloat16, /*commute=*/1, &created.ops[i][1]));
    }
  });
  return created;
}

}  // namespace

bool is_collective_dtype(at::ScalarType dtype) {
  return find_dtype(dtype) != nullptr;
}

const char* collective_dtype_name(at::ScalarType dtype) {
  return dtype_row(dtype).name;
}

MPI_Datatype mpi_datatype_of(at::ScalarType dtype) {
  return dtype_row(dtype).mpi;
}

MPI_Op mpi_op_for(ReduceOp op, at::ScalarType dtype) {
  const ReductionRow& row = reduction_row(op);
  if (dtype != at::kHalf && dtype != at::kBFloat16) return row.mpi;
  return sixteen_bit_ops().ops[static_cast<size_t>(op)][dtype == at::kHalf ? 0 : 1];
}

#if ATROUS_HAS_NCCL
ncclDataType_t nccl_datatype_of(at::ScalarType dtype) {
  return dtype_row(dtype).nccl;
}

ncclRedOp_t nccl_op_for(ReduceOp op) {
  return reduction_row(op).nccl;
}
#endif

}  // namespace atrous::distributed
