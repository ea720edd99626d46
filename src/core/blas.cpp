#include "atrous/core/blas.h"

#include <link.h>

#include <filesystem>

namespace atrous {
namespace {

int remember_libblas(dl_phdr_info* info, size_t, void* data) {
  std::string name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  if (std::filesystem::path(name).filename().string().rfind("libblas.so", 0) == 0) {
    *static_cast<std::string*>(data) = name;
    return 1;  // stop
  }
  return 0;
}

}  // namespace

BlasLibrary loaded_blas() {
  std::string name;
  dl_iterate_phdr(remember_libblas, &name);
  if (name.empty()) return {};
  std::error_code error;
  std::string resolved = std::filesystem::canonical(name, error).string();
  if (error) resolved = name;
  return {classify_blas_path(resolved), resolved};
}

BlasKind classify_blas_path(const std::string& resolved_path) {
  if (resolved_path.empty()) return BlasKind::none_loaded;
  for (const char* optimised : {"openblas", "blis", "atlas", "mkl"})
    if (resolved_path.find(optimised) != std::string::npos) return BlasKind::optimised;
  return BlasKind::reference;
}

}  // namespace atrous
