#include "atrous/train/preemption.h"

#include <atomic>
#include <csignal>

namespace atrous::train {
namespace {

std::atomic<bool> requested{false};
std::atomic<int> first_signal{0};

extern "C" void on_preemption_signal(int signal) {
  if (signal == SIGINT && requested.exchange(true)) {  // a second Ctrl-C: stop now, as without a handler
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  int none = 0;
  first_signal.compare_exchange_strong(none, signal);
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
  sigaction(SIGINT, &action, nullptr);
}

bool preemption_requested() {
  return requested.load();
}

const char* preemption_signal_name() {
  switch (first_signal.load()) {
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGINT:
      return "SIGINT";
    default:
      return "received by another rank";
  }
}

}  // namespace atrous::train
