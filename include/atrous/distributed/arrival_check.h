#pragma once
// wait_for_every_rank: a barrier that can say who is missing. MPI's barrier, when a rank never
// comes, only blocks; this one ends at a timeout, and rank 0 names the ranks that did not arrive.
//
// Collective over `comm` (every rank calls it, in the same order as its other collectives). Every
// other rank sends rank 0 an arrival message; once rank 0 has them all, it sends each a release.
// Messages are point-to-point on `comm` with tags of their own, so they never match other traffic.
//   - rank 0 throws UserError "rank(s) 3, 5 did not reach <what> within dist.timeout_s = T s ..."
//     when some have not arrived after timeout_s;
//   - the other ranks wait timeout_s plus a grace period (so that rank 0's message, the one with the
//     names, is the one a user reads) and then throw UserError naming rank 0 as not answering.
// Either error ends the job through the top-level handler (MPI_Abort).

#include <mpi.h>

#include <string>

namespace atrous::distributed {

void wait_for_every_rank(MPI_Comm comm, double timeout_s, const std::string& what);

// The grace period of ranks other than 0: min(10 s, timeout_s / 2).
double arrival_grace_s(double timeout_s);

}  // namespace atrous::distributed
