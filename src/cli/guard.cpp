#include "atrous/cli/guard.h"

#include <mpi.h>

#include <c10/util/Exception.h>
#include <cstdlib>
#include <exception>

#include "atrous/core/error.h"
#include "atrous/core/rank_label.h"

namespace atrous::cli {
namespace {

bool mpi_running() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

int world_size() {
  int size = 1;
  if (mpi_running()) MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// Prints the current exception once and returns the exit status it calls for.
int report_current_exception() {
  try {
    throw;
  } catch (const Error& error) {
    print_error(error.what());
    return error.exit_status();
  } catch (const c10::Error& error) {
    print_error(rank_label().text() + " " + error.what_without_backtrace());
    return 1;
  } catch (const std::exception& error) {
    print_error(rank_label().text() + " " + error.what());
    return 1;
  } catch (...) {
    print_error(rank_label().text() + " unknown exception");
    return 1;
  }
}

// After an error on this rank: abort the job if other ranks exist, else finalise MPI.
int end_after_error(int status) {
  if (world_size() > 1) MPI_Abort(MPI_COMM_WORLD, status);
  if (mpi_running()) MPI_Finalize();
  return status;
}

}  // namespace

int run_guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const ReportedError& reported) {
    if (mpi_running()) MPI_Finalize();
    return reported.exit_status();
  } catch (...) {
    return end_after_error(report_current_exception());
  }
}

void install_terminate_handler() {
  std::set_terminate([] {
    int status = 1;
    if (std::current_exception()) {
      status = report_current_exception();
    } else {
      print_error(rank_label().text() + " std::terminate called without an active exception");
    }
    std::_Exit(end_after_error(status));
  });
}

}  // namespace atrous::cli
