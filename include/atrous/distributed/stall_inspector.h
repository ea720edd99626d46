#pragma once
// StallInspector: when a collective has waited longer than dist.stall_warning_s, says which ranks
// have not reached it, repeatedly, until it completes or dist.timeout_s ends the job.
//
// The channel. A late rank may not be calling MPI at all (stopped by SIGSTOP, in a long
// computation, deadlocked), so nothing that needs its cooperation — a collective, a message, even
// one-sided MPI, whose passive target needs the target's progress on most transports — can say
// where it is. Each rank therefore publishes its own position in a file of a directory every rank
// sees (RUN_DIR/stall/, on the filesystem the run directory already shares among the nodes):
//   rank-<r>.txt   rank=R host=H step=S at=T state=running
//                  rank=R host=H step=S at=T state=waiting communicator=C sequence=N since=T label=...
// (at: when it was written; since: when the wait began; both seconds since the Unix epoch) written
// atomically (a temporary file, then rename) by this process's watchdog thread:
//   - at construction: running (replacing what a previous job left);
//   - when the step (set_step) changed, at most every heartbeat_s: running;
//   - once one of its waits has lasted publish_after_s: waiting, with the communicator, the
//     collective's sequence number and label, and the step (set_step);
//   - when no wait is left: running again.
// A late rank publishes nothing new, so its file says where it last was.
//
// The warning. When a wait has lasted stall_warning_s, the watchdog reads the records of the
// collective's members (its communicator's ranks) and names those not waiting for the same
// collective (same communicator name, same sequence number): every waiting rank but 0 prints it as
// a rank warning, rank 0 as one line for the whole job; again every stall_warning_s while the wait
// lasts. When the wait times out, the error gains the same names (failure_context).
// A member that is late by less than publish_after_s may be named once by mistake; a member of
// another host is left out for a node-local batch-norm group (same_host_only).
//
// Cost: a mutex and a list entry per wait, a watchdog that wakes every `tick` seconds; file writes
// only around waits longer than publish_after_s.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atrous/distributed/collective_observer.h"

namespace atrous {
class Logger;
}

namespace atrous::distributed {

// One rank's record.
struct RankPosition {
  int rank = -1;
  std::string host;
  int64_t step = 0;
  double at = 0;  // when the record was written: seconds since the Unix epoch
  bool waiting = false;
  std::string communicator;  // waiting only: "world", "batch_norm"
  uint64_t sequence = 0;     // waiting only
  double since = 0;          // waiting only: seconds since the Unix epoch when the wait began
  std::string label;         // waiting only: CollectiveLabel::text()
};

std::string format_rank_position(const RankPosition& position);
// nullopt for a line that is not a record (a torn or foreign file).
std::optional<RankPosition> parse_rank_position(const std::string& line);

// Which ranks of a collective's communicator are not waiting for it.
struct CollectiveMembers {
  std::vector<int> ranks;       // world ranks of the communicator
  bool same_host_only = false;  // a node-local group: only the ranks of `mine`'s host count
};
struct LateRank {
  int rank = -1;
  std::optional<RankPosition> last;  // its record, if it has one
};
// positions[r]: world rank r's record, if any. `mine` is the waiting rank's own (waiting) record.
std::vector<LateRank> late_ranks(const RankPosition& mine, const CollectiveMembers& members,
                                 const std::vector<std::optional<RankPosition>>& positions);
// "rank 1 (node2: running step 12, in no collective, as of 8 s ago), rank 3 (no record)"; "" for
// none. now: seconds since the Unix epoch.
std::string describe_late_ranks(const std::vector<LateRank>& late, double now);

struct StallSettings {
  std::string directory;        // RUN_DIR/stall
  double stall_warning_s = 60;  // dist.stall_warning_s
  double timeout_s = 600;       // dist.timeout_s, for the message
  double publish_after_s = 0.5;
  double heartbeat_s = 5;
  double tick_s = 0.1;
};

class StallInspector {
 public:
  // Creates the directory and publishes this rank as running; UserError naming the directory when
  // it cannot. world_size: the number of records to read.
  StallInspector(const StallSettings& settings, int rank, int world_size, std::string host, Logger& log);
  ~StallInspector();
  StallInspector(const StallInspector&) = delete;
  StallInspector& operator=(const StallInspector&) = delete;

  // The observer to attach to a communicator (Communicator::add_observer); `communicator` names it
  // in the records. The observers may outlive the inspector (they then do nothing).
  std::shared_ptr<CollectiveObserver> observer(std::string communicator, CollectiveMembers members);
  // The step this rank works on, for its records.
  void set_step(int64_t step);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace atrous::distributed
