#pragma once
// replicate_from_root: makes every rank's copy of the model start identical, before training.
//
// Collective over `comm`:
//   1. Every rank describes its parameters, then its buffers (name, dtype, shape, in order); a hash
//      of the description is compared first. On a mismatch rank 0's description is broadcast so
//      every rank can name the first difference, and every rank then throws a UserError: a rank
//      that differs names the parameter or buffer ("parameter #0: rank 0 has conv1.weight Float
//      [8, 3, 3, 3], this rank has conv1.weight Float [8, 3, 5, 5]"), the others say that another
//      rank differs. No rank hangs waiting for another.
//   2. The values of rank 0's parameters, then buffers (e.g. batch-norm running statistics), are
//      broadcast in place, so every rank continues from rank 0's weights.
// Every tensor must be contiguous (InternalError naming it otherwise).

#include <vector>

#include "atrous/distributed/communicator.h"
#include "atrous/distributed/named_tensor.h"

namespace atrous::distributed {

void replicate_from_root(const std::vector<NamedTensor>& parameters, const std::vector<NamedTensor>& buffers,
                         Communicator& comm);

}  // namespace atrous::distributed
