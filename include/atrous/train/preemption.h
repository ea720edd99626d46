#pragma once
// Preemption: SIGTERM and SIGUSR1 (SLURM's --signal=USR1@120 and its TERM before a kill) ask the
// run to stop cleanly. The handler only sets a flag; the trainer reads it between steps, agrees
// with every rank (one could have been signalled alone), writes a checkpoint and exits with
// preempted_exit_status, so that a requeued job resumes with train.resume = auto.

namespace atrous::train {

inline constexpr int preempted_exit_status = 75;  // EX_TEMPFAIL: try again later

// Installs the handlers (once per process).
void install_preemption_handlers();
// Whether this process has received SIGTERM or SIGUSR1.
bool preemption_requested();

}  // namespace atrous::train
