#include "atrous/core/allocator_tuning.h"

#include <unistd.h>

#include <cstdlib>

#include "atrous/core/environment.h"

namespace atrous {
namespace {

// mmap and trim thresholds of 2 and 16 GiB keep freed blocks in the heap; one arena, because the
// extra arenas of other threads (the communicator's) mmap every block above 64 MiB regardless.
constexpr const char* settings =
    "glibc.malloc.mmap_threshold=2147483648:glibc.malloc.trim_threshold=17179869184:"
    "glibc.malloc.arena_max=1";

bool user_chose_malloc_settings() {
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"})
    if (environment_variable(name)) return true;
  return false;
}

}  // namespace

std::optional<std::string> tuned_glibc_tunables(const std::optional<std::string>& current) {
  if (!current || current->empty()) return std::string(settings);
  if (current->find("glibc.malloc.") != std::string::npos) return std::nullopt;
  return *current + ":" + settings;
}

void ensure_tuned_allocator(char** argv) {
  if (environment_variable("ATROUS_KEEP_MALLOC") || user_chose_malloc_settings()) return;
  std::optional<std::string> tunables = tuned_glibc_tunables(environment_variable("GLIBC_TUNABLES"));
  if (!tunables) return;  // already tuned, by us or by the user
  setenv("GLIBC_TUNABLES", tunables->c_str(), 1);
  execv("/proc/self/exe", argv);
  unsetenv("GLIBC_TUNABLES");  // exec failed: carry on untuned; allocator_state() says so
}

std::string allocator_state() {
  std::optional<std::string> tunables = environment_variable("GLIBC_TUNABLES");
  if (tunables && tunables->find(settings) != std::string::npos)
    return "tuned (GLIBC_TUNABLES=" + *tunables + ")";
  if (user_chose_malloc_settings() || (tunables && tunables->find("glibc.malloc.") != std::string::npos))
    return "the user's malloc settings";
  return "glibc defaults (large tensors are faulted in again every step; unset ATROUS_KEEP_MALLOC)";
}

}  // namespace atrous
