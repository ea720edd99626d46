#pragma once
// CollectiveLabel: what one collective is, in a small value that every backend hands along with
// the operation, so that a timeout, an error or a report of stalled ranks names it the same way:
//   collective #12 (allreduce(sum) of 1024 float32)
//   collective #13 (broadcast of 8 int64 from rank 0)
//   collective #14 (allgather of 3 float64 per rank)
//   collective #15 (barrier)
// A collective made for a purpose other than `other` (distributed/collective_waits.h) says so:
//   collective #16 (allreduce(sum) of 64 float64 for batch_norm)
// The sequence number counts the collectives issued on one communicator, from 0, in issue order;
// since every rank issues the same collectives in the same order, the same number names the same
// collective on every rank.
//
// collective_timeout_error() is the one message for a wait() that outlasted dist.timeout_s.

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>

#include "atrous/core/error.h"
#include "atrous/distributed/collective_waits.h"
#include "atrous/distributed/reduce_op.h"

namespace atrous::distributed {

struct CollectiveLabel {
  const char* collective = "";                       // "allreduce", "broadcast", "allgather", "barrier"
  ReduceOp op = ReduceOp::sum;                       // allreduce only
  int64_t count = 0;                                 // elements (per rank for allgather); barrier: 0
  at::ScalarType dtype = at::ScalarType::Undefined;  // barrier: Undefined
  int root = -1;                                     // broadcast only
  uint64_t sequence = 0;
  CollectivePurpose purpose = CollectivePurpose::other;

  std::string text() const;
};

// "<label> did not complete within dist.timeout_s = <timeout_s> s: a rank died or hangs, or the
// ranks issued collectives in different orders; <consequence>". consequence: what the backend does
// about it ("stopping the job").
UserError collective_timeout_error(const CollectiveLabel& label, double timeout_s,
                                   const std::string& consequence, SourceLocation where);

}  // namespace atrous::distributed
