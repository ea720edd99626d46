#include "atrous/train/preemption.h"

#include <atomic>
#include <csignal>

namespace atrous::train {
namespace {

std::atomic<bool> requested{false};

extern "C" void on_preemption_signal(int) {
  requested.store(true);
}

}  // namespace

void install_preemption_handlers() {
  struct sigaction action {};
  action.sa_handler = on_preemption_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

bool preemption_requested() {
  return requested.load();
}

}  // namespace atrous::train
