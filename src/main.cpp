// The `atrous` command: see include/atrous/cli/app.h.
#include "atrous/cli/app.h"

int main(int argc, char** argv) {
  return atrous::cli::run_app(argc, argv);
}
