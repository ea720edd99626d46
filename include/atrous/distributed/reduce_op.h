#pragma once
// ReduceOp: how an allreduce combines the ranks' tensors, element by element.
//   sum      the sum over every rank
//   average  the sum divided by the number of ranks (floating tensors only)
//   max      the largest value
//   min      the smallest value

namespace atrous::distributed {

enum class ReduceOp { sum, average, max, min };

// "sum", "average", "max", "min": how labels and messages name the reduction.
const char* reduce_op_name(ReduceOp op);

}  // namespace atrous::distributed
