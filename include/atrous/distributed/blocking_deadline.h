#pragma once
// A deadline for the blocking MPI calls made outside a Communicator: MPI_Init_thread, duplicating and
// splitting communicators, NCCL's set-up, the start-up agreements. These have no timeout of their
// own, so a rank that is stopped (SIGSTOP, a debugger, a frozen node) or hung before it reaches one
// would leave every other rank blocked in it forever; the Communicator's collectives already end at
// dist.timeout_s (communicator.h).
//
// While a ScopedBlockingCall lives (on any thread), a watchdog thread checks that it ends within the
// process's blocking timeout. When one does not, the watchdog prints, once,
//   "[rank r/N host] error: <what> did not complete within dist.timeout_s = T s: another rank is
//    stopped, hung or far slower (or died); stopping the job"
// and ends the job: MPI_Abort once MPI is initialised; before that (inside MPI_Init) _exit(1), after
// which the launcher (mpirun, srun) ends the other ranks.
//
// The timeout is set once per process, by World before MPI_Init, from dist.timeout_s;
// until then it is the option's default. Calls may nest; each is measured from its own start.

#include <cstdint>
#include <string>

namespace atrous::distributed {

inline constexpr double default_blocking_timeout_s = 600;

// dist.timeout_s for every blocking call that follows; must be > 0.
void set_blocking_timeout(double seconds);
double blocking_timeout();

class ScopedBlockingCall {
 public:
  // `what` names the call for the message, e.g. "MPI start-up (MPI_Init_thread)".
  explicit ScopedBlockingCall(std::string what);
  ~ScopedBlockingCall();
  ScopedBlockingCall(const ScopedBlockingCall&) = delete;
  ScopedBlockingCall& operator=(const ScopedBlockingCall&) = delete;

 private:
  uint64_t id_;
};

}  // namespace atrous::distributed
