#include "atrous/distributed/arrival_check.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/distributed/mpi_check.h"

namespace atrous::distributed {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int arrival_tag = 27001;
constexpr int release_tag = 27002;

// Polls `requests` until all complete (true) or `deadline` passes (false); sleeps between polls, from
// 20 us up to 2 ms, so that a long wait does not take a core from the ranks still working.
bool complete_by(std::vector<MPI_Request>& requests, Clock::time_point deadline) {
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    int done = 0;
    ATROUS_MPI_CHECK(MPI_Testall(int(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE));
    if (done) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(2000));
  }
}

// Cancels the receives among `requests` still pending and returns their indices.
std::vector<int> cancel_pending(std::vector<MPI_Request>& requests) {
  std::vector<int> pending;
  for (size_t i = 0; i < requests.size(); ++i) {
    int done = 0;
    ATROUS_MPI_CHECK(MPI_Test(&requests[i], &done, MPI_STATUS_IGNORE));
    if (done) continue;
    pending.push_back(int(i));
    MPI_Cancel(&requests[i]);
    MPI_Request_free(&requests[i]);
  }
  return pending;
}

Clock::time_point after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

void gather_arrivals(MPI_Comm comm, int size, double timeout_s, const std::string& what) {
  std::vector<char> tokens(size_t(size), 0);
  std::vector<MPI_Request> arrivals(size_t(size - 1), MPI_REQUEST_NULL);
  for (int rank = 1; rank < size; ++rank)
    ATROUS_MPI_CHECK(
        MPI_Irecv(&tokens[size_t(rank)], 1, MPI_CHAR, rank, arrival_tag, comm, &arrivals[size_t(rank - 1)]));
  if (!complete_by(arrivals, after(timeout_s))) {
    std::string missing;
    for (int index : cancel_pending(arrivals))
      missing += (missing.empty() ? "" : ", ") + std::to_string(index + 1);
    throw UserError(
        to_text("rank(s) ", missing, " did not reach ", what, " within dist.timeout_s = ", timeout_s,
                " s: stopped, hung, far slower or dead (see their output, or the batch system's "
                "log for their node); stopping the job"),
        ATROUS_HERE);
  }
  const char release = 1;
  std::vector<MPI_Request> releases(size_t(size - 1), MPI_REQUEST_NULL);
  for (int rank = 1; rank < size; ++rank)
    ATROUS_MPI_CHECK(MPI_Isend(&release, 1, MPI_CHAR, rank, release_tag, comm, &releases[size_t(rank - 1)]));
  if (!complete_by(releases, after(timeout_s)))
    throw UserError(to_text("the release of ", what, " was not received within dist.timeout_s = ", timeout_s,
                            " s: a rank stopped or died just after arriving; stopping the job"),
                    ATROUS_HERE);
}

void arrive(MPI_Comm comm, double timeout_s, const std::string& what) {
  const char token = 1;
  char release = 0;
  std::vector<MPI_Request> requests(2, MPI_REQUEST_NULL);
  ATROUS_MPI_CHECK(MPI_Isend(&token, 1, MPI_CHAR, 0, arrival_tag, comm, &requests[0]));
  ATROUS_MPI_CHECK(MPI_Irecv(&release, 1, MPI_CHAR, 0, release_tag, comm, &requests[1]));
  const double waited = timeout_s + arrival_grace_s(timeout_s);
  if (complete_by(requests, after(waited))) return;
  std::vector<MPI_Request> release_only{requests[1]};  // a send is not cancelled
  cancel_pending(release_only);
  throw UserError(to_text("rank 0 did not confirm that every rank reached ", what, " within ", waited,
                          " s (dist.timeout_s = ", timeout_s,
                          " s plus a grace period): rank 0 is stopped, hung, far slower or dead, or it named "
                          "the missing ranks in its own error; stopping the job"),
                  ATROUS_HERE);
}

}  // namespace

double arrival_grace_s(double timeout_s) {
  return std::min(10.0, timeout_s / 2);
}

void wait_for_every_rank(MPI_Comm comm, double timeout_s, const std::string& what) {
  int rank = 0, size = 0;
  ATROUS_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  ATROUS_MPI_CHECK(MPI_Comm_size(comm, &size));
  if (size == 1) return;
  if (rank == 0)
    gather_arrivals(comm, size, timeout_s, what);
  else
    arrive(comm, timeout_s, what);
}

}  // namespace atrous::distributed
