#pragma once
// The element types and reductions that collectives support, one table each, with what every
// transport calls them. The Communicator checks its arguments against these tables, collective
// labels name dtypes by them, and each backend takes its library's names from them.
//
//   dtype     name      MPI datatype   NCCL datatype
//   Float     float32   MPI_FLOAT      ncclFloat32
//   Double    float64   MPI_DOUBLE     ncclFloat64
//   Half      float16   MPI_UINT16_T   ncclFloat16
//   BFloat16  bfloat16  MPI_UINT16_T   ncclBfloat16
//   Int       int32     MPI_INT32_T    ncclInt32
//   Long      int64     MPI_INT64_T    ncclInt64
//   Byte      uint8     MPI_UINT8_T    ncclUint8
//
//   op       MPI op    NCCL op
//   sum      MPI_SUM   ncclSum
//   average  MPI_SUM   ncclAvg   (over MPI the backend divides the sum by the number of ranks)
//   max      MPI_MAX   ncclMax
//   min      MPI_MIN   ncclMin
//
// MPI has no 16-bit floats: float16 and bfloat16 travel as MPI_UINT16_T and are reduced by
// user-defined ops (created on first use, after MPI_Init) that combine each pair in float32.
// The NCCL columns exist in builds with NCCL only (ATROUS_HAS_NCCL).
// A dtype outside the table given to the functions below is an InternalError naming it (the
// Communicator rejects such tensors before any backend sees them).

#include <mpi.h>

#include <c10/core/ScalarType.h>

#include "atrous/build_info.h"
#include "atrous/distributed/reduce_op.h"

#if ATROUS_HAS_NCCL
#include <nccl.h>
#endif

namespace atrous::distributed {

bool is_collective_dtype(at::ScalarType dtype);
// "float32", "bfloat16", ...
const char* collective_dtype_name(at::ScalarType dtype);

MPI_Datatype mpi_datatype_of(at::ScalarType dtype);
// The table's op, or for float16 and bfloat16 the user-defined one.
MPI_Op mpi_op_for(ReduceOp op, at::ScalarType dtype);

#if ATROUS_HAS_NCCL
ncclDataType_t nccl_datatype_of(at::ScalarType dtype);
ncclRedOp_t nccl_op_for(ReduceOp op);
#endif

}  // namespace atrous::distributed
