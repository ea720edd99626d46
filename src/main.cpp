// The `atrous` command: see include/atrous/cli/app.h.
#include "atrous/cli/app.h"
#include "atrous/core/allocator_tuning.h"

int main(int argc, char** argv) {
  atrous::ensure_tuned_allocator(argv);
  return atrous::cli::run_app(argc, argv);
}
