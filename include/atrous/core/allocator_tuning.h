#pragma once
// glibc's malloc and the large tensors of segmentation training.
//
// By default glibc serves every block above 128 KiB-32 MiB with its own mmap and returns it to the
// kernel on free, so each step's large activations (a batch of 4 logits at 513 x 513 x 21 is 88 MB)
// are faulted in page by page again: on the machines we measured, the top-k loss alone ran 7-10x
// slower that way (1.8 s against 0.18-0.27 s per step, crop 513, batch 4, one thread), and a
// 64 MiB allreduce on the communicator's thread fell from 5 to 0.5 GB/s. Raising glibc's mmap and
// trim thresholds keeps freed blocks in the heap for the next step; a single arena keeps other
// threads' large blocks there too (extra arenas mmap every block above 64 MiB).
//
// These settings are only read when a process starts, so ensure_tuned_allocator() sets
// GLIBC_TUNABLES and re-executes the program (same pid, same arguments) once, before MPI or
// threads exist. It leaves the process alone when the user chose malloc settings themselves
// (GLIBC_TUNABLES with glibc.malloc.*, or MALLOC_*_ variables) or set ATROUS_KEEP_MALLOC=1.

#include <optional>
#include <string>

namespace atrous {

// The GLIBC_TUNABLES value with atrous's malloc settings added to `current`, or nullopt when the
// user already chose malloc settings there.
std::optional<std::string> tuned_glibc_tunables(const std::optional<std::string>& current);

// Re-executes the program with tuned malloc settings unless they are in effect or the user opted
// out; returns otherwise (also if the re-execution fails, which allocator_state() then reports).
// Call first thing in main().
void ensure_tuned_allocator(char** argv);

// "tuned (GLIBC_TUNABLES=...)", "user's settings (...)" or "glibc defaults (...)", for `atrous info`.
std::string allocator_state();

}  // namespace atrous
