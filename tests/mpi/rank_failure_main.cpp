// A job in which one rank fails while the others wait in a collective; used by expect_job_fails.sh.
//   throw   rank 1 throws a UserError from the main thread (the top-level handler must abort the job)
//   thread  rank 1 throws from a background thread (the terminate handler must abort the job)
// Rank 0 meanwhile blocks in MPI_Barrier, which it would never leave on its own.
#include <chrono>
#include <cstring>
#include <thread>

#include "atrous/cli/guard.h"
#include "atrous/core/error.h"
#include "atrous/distributed/world.h"

int main(int argc, char** argv) {
  using namespace atrous;
  cli::install_terminate_handler();
  const bool from_thread = argc > 1 && std::strcmp(argv[1], "thread") == 0;
  return cli::run_guarded([&] {
    distributed::World world(&argc, &argv, distributed::WorldOptions{});
    if (world.rank() == 1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (from_thread) {
        std::thread worker([] { throw UserError("injected failure in a background thread", ATROUS_HERE); });
        worker.join();
      }
      throw UserError("injected failure on the main thread", ATROUS_HERE);
    }
    MPI_Barrier(world.comm());
    return 0;
  });
}
