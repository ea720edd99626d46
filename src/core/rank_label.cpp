#include "atrous/core/rank_label.h"

#include <unistd.h>

#include <mutex>

namespace atrous {
namespace {

std::mutex& label_mutex() {
  static std::mutex mutex;
  return mutex;
}

RankLabel& stored_label() {
  static RankLabel label{-1, -1, local_host_name()};
  return label;
}

}  // namespace

std::string RankLabel::text() const {
  if (rank < 0) return "[rank ?/? " + host + "]";
  return "[rank " + std::to_string(rank) + "/" + std::to_string(size) + " " + host + "]";
}

RankLabel rank_label() {
  std::lock_guard<std::mutex> lock(label_mutex());
  return stored_label();
}

void set_rank_label(const RankLabel& label) {
  std::lock_guard<std::mutex> lock(label_mutex());
  stored_label() = label;
}

std::string local_host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "unknown-host";
  return name;
}

}  // namespace atrous
