#pragma once
// The top-level error handling of every atrous process.
//
// run_guarded(body) runs body and returns its exit status. When body throws:
//   - ReportedError (distributed/error_agreement.h): every rank already knows and the message is printed;
//     MPI is finalised and the status returned, on every rank alike.
//   - any other exception: this rank prints it once ("atrous: error: [rank r/N host] ..."). If MPI
//     runs with more than one rank, MPI_Abort(MPI_COMM_WORLD, status) then ends the whole job at
//     once, because the other ranks may be blocked in a collective that this rank will never join.
//     With one rank, MPI is finalised and the status returned.
// Exit status: 1 for errors, 2 for bad options (OptionError).
//
// install_terminate_handler() makes an exception that escapes a background thread do the same
// (print with the rank label, abort the job) instead of a bare std::terminate.

#include <functional>

namespace atrous::cli {

int run_guarded(const std::function<int()>& body);

void install_terminate_handler();

}  // namespace atrous::cli
