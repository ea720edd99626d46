#include "atrous/core/intra_op_threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

namespace atrous {
namespace {

// omp_set_num_threads of the OpenMP runtime LibTorch runs on: the first definition the dynamic
// linker finds, which is also the one LibTorch's own calls are bound to. (Debian's LibTorch uses
// the system's libgomp; a pip wheel bundles its own copy under another name, which a direct call
// from atrous, linked against the system's, would miss.) Null when LibTorch has no OpenMP.
using SetThreads = void (*)(int);
SetThreads torch_omp_set_num_threads() {
  static const auto function = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  return function;
}

}  // namespace

void use_one_intra_op_thread_in_this_thread() {
  // LibTorch sets a thread's OpenMP thread count on its first parallel operator; let it do that
  // now, so that the setting below is not overwritten later. (at::get_num_threads runs LibTorch's
  // own once-per-thread initialisation; the inline at::internal::lazy_init_num_threads would mark
  // only atrous's copy of the per-thread flag where LibTorch keeps its symbols to itself.)
  at::get_num_threads();
  if (SetThreads set_threads = torch_omp_set_num_threads()) set_threads(1);
}

}  // namespace atrous
