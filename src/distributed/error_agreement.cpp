#include "atrous/distributed/error_agreement.h"

#include <functional>
#include <string>

#include "atrous/core/error.h"
#include "atrous/core/rank_label.h"
#include "atrous/distributed/arrival_check.h"
#include "atrous/distributed/blocking_deadline.h"
#include "atrous/distributed/mpi_check.h"

namespace atrous::distributed {
namespace {

struct LocalFailure {
  int status = 0;       // 0: this rank did not fail
  std::string message;  // without rank label
  std::string call_site;
};

LocalFailure describe(std::exception_ptr error) {
  if (!error) return {};
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return {e.exit_status(), e.message(), to_text(e.where().file, ":", e.where().line)};
  } catch (const std::exception& e) {
    return {1, e.what(), ""};
  } catch (...) {
    return {1, "unknown exception", ""};
  }
}

}  // namespace

void agree_on_errors(MPI_Comm comm, std::exception_ptr local_error) {
  const LocalFailure local = describe(local_error);
  int rank = 0, size = 0;
  ATROUS_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  ATROUS_MPI_CHECK(MPI_Comm_size(comm, &size));

  // A rank that never comes (stopped, hung) is named by rank 0 at dist.timeout_s.
  wait_for_every_rank(comm, blocking_timeout(), "the agreement on errors (start-up or a step's outcome)");
  const ScopedBlockingCall deadline("the agreement on errors");
  int failed = local.status != 0 ? 1 : 0, failures = 0;
  ATROUS_MPI_CHECK(MPI_Allreduce(&failed, &failures, 1, MPI_INT, MPI_SUM, comm));
  if (failures == 0) return;

  // Highest status, and whether every message hashes the same (max of hash and of its complement).
  const unsigned long long hash = std::hash<std::string>{}(local.message);
  unsigned long long mine[3] = {static_cast<unsigned long long>(local.status), failed ? hash : 0,
                                failed ? ~hash : 0};
  unsigned long long most[3] = {};
  ATROUS_MPI_CHECK(MPI_Allreduce(mine, most, 3, MPI_UNSIGNED_LONG_LONG, MPI_MAX, comm));
  const bool same_everywhere = failures == size && most[1] == ~most[2];

  // Errors raised before distributed::World knew the rank carry "[rank ?/?]": label them now.
  const std::string site = local.call_site.empty() ? "" : " (at " + local.call_site + ")";
  if (size == 1) {
    print_error(local.message + site);
  } else if (same_everywhere) {
    if (rank == 0) {
      std::string where = local.call_site.empty() ? "" : "; at " + local.call_site;
      print_error(to_text(local.message, " (on all ", size, " ranks", where, ")"));
    }
  } else if (failed) {
    print_error(rank_label().text() + " " + local.message + site);
  } else if (rank == 0) {
    print_error(
        to_text(failures, " of ", size, " ranks failed, each printed its own error; stopping every rank"));
  }
  throw ReportedError(static_cast<int>(most[0]));
}

}  // namespace atrous::distributed
