#include "atrous/distributed/mpi_tensor_types.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <mutex>

#include "atrous/core/error.h"
#include "atrous/distributed/mpi_check.h"

namespace atrous::distributed {
namespace {

template <class Scalar, class Combine>
void combine_in_float(void* in, void* inout, int* length, Combine combine) {
  auto* a = static_cast<const Scalar*>(in);
  auto* b = static_cast<Scalar*>(inout);
  for (int i = 0; i < *length; ++i)
    b[i] = static_cast<Scalar>(combine(static_cast<float>(a[i]), static_cast<float>(b[i])));
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

template <class Scalar, float (*Combine)(float, float)>
void reduce_16bit(void* in, void* inout, int* length, MPI_Datatype*) {
  combine_in_float<Scalar>(in, inout, length, Combine);
}

struct SixteenBitOps {
  MPI_Op half_sum, half_max, half_min, bf16_sum, bf16_max, bf16_min;
};

const SixteenBitOps& sixteen_bit_ops() {
  static SixteenBitOps ops;
  static std::once_flag once;
  std::call_once(once, [] {
    ATROUS_MPI_CHECK(MPI_Op_create(&reduce_16bit<c10::Half, add>, 1, &ops.half_sum));
    ATROUS_MPI_CHECK(MPI_Op_create(&reduce_16bit<c10::Half, larger>, 1, &ops.half_max));
    ATROUS_MPI_CHECK(MPI_Op_create(&reduce_16bit<c10::Half, smaller>, 1, &ops.half_min));
    ATROUS_MPI_CHECK(MPI_Op_create(&reduce_16bit<c10::BFloat16, add>, 1, &ops.bf16_sum));
    ATROUS_MPI_CHECK(MPI_Op_create(&reduce_16bit<c10::BFloat16, larger>, 1, &ops.bf16_max));
    ATROUS_MPI_CHECK(MPI_Op_create(&reduce_16bit<c10::BFloat16, smaller>, 1, &ops.bf16_min));
  });
  return ops;
}

}  // namespace

MPI_Datatype mpi_datatype_of(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::ScalarType::Float:
      return MPI_FLOAT;
    case c10::ScalarType::Double:
      return MPI_DOUBLE;
    case c10::ScalarType::Half:
      return MPI_UINT16_T;
    case c10::ScalarType::BFloat16:
      return MPI_UINT16_T;
    case c10::ScalarType::Int:
      return MPI_INT32_T;
    case c10::ScalarType::Long:
      return MPI_INT64_T;
    case c10::ScalarType::Byte:
      return MPI_UINT8_T;
    default:
      break;
  }
  throw InternalError(to_text("no MPI datatype for tensors of ", c10::toString(dtype)), ATROUS_HERE);
}

MPI_Op mpi_op_for(ReduceOp op, c10::ScalarType dtype) {
  if (dtype == c10::ScalarType::Half || dtype == c10::ScalarType::BFloat16) {
    const SixteenBitOps& ops = sixteen_bit_ops();
    const bool half = dtype == c10::ScalarType::Half;
    switch (op) {
      case ReduceOp::sum:
      case ReduceOp::average:
        return half ? ops.half_sum : ops.bf16_sum;
      case ReduceOp::max:
        return half ? ops.half_max : ops.bf16_max;
      case ReduceOp::min:
        return half ? ops.half_min : ops.bf16_min;
    }
  }
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::average:
      return MPI_SUM;
    case ReduceOp::max:
      return MPI_MAX;
    case ReduceOp::min:
      return MPI_MIN;
  }
  throw InternalError("unknown ReduceOp", ATROUS_HERE);
}

}  // namespace atrous::distributed
