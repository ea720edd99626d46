#pragma once
// Which BLAS this process computes with.
//
// Debian's LibTorch links libblas.so.3, which the alternatives system may resolve to the slow
// reference BLAS. With one intra-op thread per rank a DeepLab-ResNet50 training step was measured
// 7.6 s on the reference BLAS against 1.0 s on OpenBLAS (batch 2, crop 129), so rank 0 warns when
// the reference one is loaded; launch/install-deps installs libopenblas0-openmp.

#include <string>

namespace atrous {

enum class BlasKind { none_loaded, reference, optimised };

struct BlasLibrary {
  BlasKind kind = BlasKind::none_loaded;
  std::string path;  // the loaded libblas with links resolved, empty when none is loaded
};

// Looks through the shared objects loaded in this process for libblas.
BlasLibrary loaded_blas();

// Classifies a resolved libblas path: Debian's reference BLAS lives in .../blas/libblas.so.3;
// OpenBLAS, BLIS, ATLAS and MKL in folders named after themselves.
BlasKind classify_blas_path(const std::string& resolved_path);

}  // namespace atrous
