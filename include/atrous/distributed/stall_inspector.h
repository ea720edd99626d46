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
//                  rank=R host=H step=S at=T state=waiting waits=world:12,batch_norm:40 since=T label=...
// at: when it was written; waits: every collective (communicator:sequence number) this rank has
// waited for longer than publish_after_s; since and label: the oldest of them (seconds since the
// Unix epoch; CollectiveLabel::text()). Written atomically (a temporary file, then rename) by this
// process's watchdog thread, never by a thread that trains:
//   - at construction: running (replacing what an earlier job left);
//   - when the set of long waits changes, and every heartbeat_s while it lasts: waiting;
//   - when no long wait is left: running; and when the step changed, at most every heartbeat_s.
// A late rank publishes nothing new, so its file says where it last was.
//
// The warning. When a wait has lasted stall_warning_s, the watchdog reads the records of the
// collective's members (its communicator's world ranks) and names every member that is not waiting
// for the same collective (same communicator, same sequence number), and every member that is but
// whose record has not been refreshed for silent_after_s (stopped or hung inside the collective).
// Every waiting rank but 0 prints it as a rank warning, rank 0 as one line for the whole job; again
// every stall_warning_s while the wait lasts. When the wait times out, the error gains the same
// names (failure_context). Records written before this process's inspector started, less 2 s of
// clock difference between nodes, belong to an earlier job and count as no record. A member that is
// late by less than publish_after_s may be named once by mistake; for a node-local batch-norm group
// (same_host_only) only the members on this rank's host count.
//
// Threads: observers may be called from any thread; set_step() from the training thread. Cost per
// wait: a mutex and a list entry; file writes only around waits longer than publish_after_s. The
// watchdog never ends a run: a record it cannot write is a rank warning. When the inspector is
// destroyed while an exception unwinds, the watchdog is detached rather than joined (it may be stuck
// on a hung filesystem, and the job is about to be aborted).

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

// One collective: the communicator's name ("world", "batch_norm") and its sequence number there.
struct WaitPoint {
  std::string communicator;
  uint64_t sequence = 0;
};

// One rank's record.
struct RankPosition {
  int rank = -1;
  std::string host;
  int64_t step = 0;
  double at = 0;  // when the record was written: seconds since the Unix epoch
  bool waiting = false;
  std::vector<WaitPoint> waits;  // waiting only, oldest first
  double since = 0;              // waiting only: when the oldest wait began
  std::string label;             // waiting only: the oldest wait's CollectiveLabel::text()
};

std::string format_rank_position(const RankPosition& position);
// nullopt for a line that is not a record (a torn or foreign file).
std::optional<RankPosition> parse_rank_position(const std::string& line);

// The world ranks of a collective's communicator.
struct CollectiveMembers {
  std::vector<int> ranks;
  bool same_host_only = false;  // a node-local group: only the ranks of the waiting rank's host count
};

struct LateRank {
  int rank = -1;
  std::optional<RankPosition> last;  // its record, if it has one
  bool silent = false;               // waiting for the same collective, but its record is not refreshed
};

// The members that have not reached `collective`, which `mine` (a rank on `host`) waits for.
// positions[r]: world rank r's record, if any; now: seconds since the Unix epoch.
std::vector<LateRank> late_ranks(const WaitPoint& collective, int mine, const std::string& host,
                                 const CollectiveMembers& members,
                                 const std::vector<std::optional<RankPosition>>& positions, double now,
                                 double silent_after_s);
// "rank 1 (node2: running step 12, in no collective, as of 8 s ago), rank 3 (no record)"; "" for none.
std::string describe_late_ranks(const std::vector<LateRank>& late, double now);

struct StallSettings {
  std::string directory;        // RUN_DIR/stall
  double stall_warning_s = 60;  // dist.stall_warning_s
  double timeout_s = 600;       // dist.timeout_s, for the message
  double publish_after_s = 0.5;
  double heartbeat_s = 5;
  double silent_after_s = 15;
  double tick_s = 0.1;
};

class StallInspector {
 public:
  // Creates the directory and publishes this rank as running; UserError naming the directory when
  // it cannot. world_size: how many ranks may have records.
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
