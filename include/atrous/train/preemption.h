#pragma once
// Preemption: SIGTERM and SIGUSR1 (SLURM's --signal=USR1@120 and its TERM before a kill), and SIGINT
// (Ctrl-C, or mpirun passing it on) ask the run to stop cleanly; a second SIGINT stops the process at
// once, without a checkpoint, as Ctrl-C does elsewhere. The handler only sets a flag; the trainer reads it
// between steps, agrees with every rank (one could have been signalled alone), writes a checkpoint and exits
// with preempted_exit_status, so that a requeued job resumes with train.resume = auto.

namespace atrous::train {

inline constexpr int preempted_exit_status = 75;  // EX_TEMPFAIL: try again later

// Installs the handlers (once per process).
void install_preemption_handlers();
// Whether this process has received SIGTERM, SIGUSR1 or SIGINT.
bool preemption_requested();
// "SIGTERM", "SIGUSR1" or "SIGINT": the first of them this process received; "received by another
// rank" for a rank that the agreement stopped without a signal of its own.
const char* preemption_signal_name();

}  // namespace atrous::train
