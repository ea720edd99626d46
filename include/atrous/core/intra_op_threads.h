#pragma once
// Intra-op parallelism of helper threads.
//
// LibTorch's OpenMP operators use as many threads as the calling thread's OpenMP setting allows,
// so a reader thread that resizes images would start its own team of dist.threads threads and
// compete with the training threads for the cores. Helper threads call this once at start.

namespace atrous {

// Makes LibTorch operators called from this thread run on this thread alone (other threads keep
// their setting).
void use_one_intra_op_thread_in_this_thread();

}  // namespace atrous
