#pragma once
// How tensor elements travel through MPI: the datatype for each dtype, and the reduction for each
// (ReduceOp, dtype). MPI has no 16-bit floats, so float16 and bfloat16 travel as MPI_UINT16_T and
// are reduced by user-defined ops (created on first use) that add, or compare, pairs in float32.
// ReduceOp::average maps to the sum; the caller divides by the number of ranks.

#include <mpi.h>

#include <c10/core/ScalarType.h>

#include "atrous/distributed/communicator.h"

namespace atrous::distributed {

// InternalError for dtypes outside float32/64, float16, bfloat16, int32/64, uint8.
MPI_Datatype mpi_datatype_of(c10::ScalarType dtype);

MPI_Op mpi_op_for(ReduceOp op, c10::ScalarType dtype);

}  // namespace atrous::distributed
