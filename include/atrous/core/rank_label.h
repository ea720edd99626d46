#pragma once
// Who this process is, for messages: "[rank r/N host]".
//
// distributed::World sets the label once, right after MPI is initialised; before that it reads
// "[rank ?/? host]". Every error and every rank-prefixed log line carries it, so a line in a
// 64-rank log still says which rank on which host wrote it. Reading and setting are thread-safe.

#include <string>

namespace atrous {

struct RankLabel {
  int rank = -1;  // -1: not known yet (before MPI is initialised)
  int size = -1;
  std::string host;

  // "[rank 1/4 node07]", or "[rank ?/? node07]" while the rank is unknown.
  std::string text() const;
};

// The label of this process; the host is filled in even before set_rank_label() is called.
RankLabel rank_label();

// Called by distributed::World once the rank is known.
void set_rank_label(const RankLabel& label);

// The machine's host name (gethostname), "unknown-host" if it cannot be read.
std::string local_host_name();

}  // namespace atrous
