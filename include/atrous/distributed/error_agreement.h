#pragma once
// agree_on_errors: turn a step that every rank runs (parse options, open a file, check a model)
// into one collective outcome, so that a mistake every rank makes is reported once, not N times,
// and a mistake one rank makes is never lost.
//
// Collective over `comm`: every rank must call it, in the same order as its other collectives,
// with the error its own step ended in (or nullptr). A rank that does not come within dist.timeout_s
// (blocking_deadline.h) is named by rank 0 (arrival_check.h) and the job ends. If no rank failed, it returns.
// Otherwise:
//   - every rank failed with the same message: rank 0 prints it once, "(on all N ranks)";
//   - some ranks failed: each of them prints its own error with its rank label, and rank 0 says how
//     many ranks failed;
// then every rank throws ReportedError with the highest exit status among the failures (2 when an
// option was wrong), which the top-level handler turns into a clean exit on every rank.

#include <mpi.h>

#include <exception>

namespace atrous::distributed {

void agree_on_errors(MPI_Comm comm, std::exception_ptr local_error);

}  // namespace atrous::distributed
