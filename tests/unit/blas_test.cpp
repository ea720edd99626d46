#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "atrous/core/blas.h"

namespace atrous {
namespace {

TEST(Blas, ClassifiesDebianAlternatives) {
  EXPECT_EQ(classify_blas_path("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"), BlasKind::reference);
  EXPECT_EQ(classify_blas_path("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"),
            BlasKind::optimised);
  EXPECT_EQ(classify_blas_path("/usr/lib/x86_64-linux-gnu/blis-pthread/libblas.so.3"), BlasKind::optimised);
  EXPECT_EQ(classify_blas_path(""), BlasKind::none_loaded);
}

// The independent view: the kernel's list of this process's mappings.
std::string libblas_in_proc_maps() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::filesystem::path path = line.substr(slash);
    if (path.filename().string().rfind("libblas.so", 0) == 0)
      return std::filesystem::canonical(path).string();
  }
  return "";
}

TEST(Blas, FindsTheLibblasThisProcessMapped) {
  BlasLibrary blas = loaded_blas();
  std::string mapped = libblas_in_proc_maps();
  EXPECT_EQ(blas.path, mapped);
  EXPECT_EQ(blas.kind, classify_blas_path(mapped));
}

}  // namespace
}  // namespace atrous
