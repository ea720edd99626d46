#include "atrous/core/intra_op_threads.h"

#include <ATen/Parallel.h>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace atrous {

void use_one_intra_op_thread_in_this_thread() {
  // LibTorch sets a thread's OpenMP thread count on its first parallel operator; let it do that
  // now, so that the setting below is not overwritten later.
  at::internal::lazy_init_num_threads();
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
}

}  // namespace atrous
