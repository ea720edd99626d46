#pragma once
// LogitsFile (`atrous infer --infer.logits_out FILE.h5`): raw logits for ensembling or
// post-processing, one float32 dataset per image, /logits/<name> of shape [C, H, W] at the image's
// original size, with the attribute num_classes on the root. Written under a temporary name and
// renamed by commit(); readable by h5py.

#include <ATen/core/Tensor.h>

#include <string>

#include "atrous/data/hdf5_handle.h"

namespace atrous::eval {

class LogitsFile {
 public:
  LogitsFile(std::string path, int64_t num_classes);
  ~LogitsFile();
  LogitsFile(const LogitsFile&) = delete;
  LogitsFile& operator=(const LogitsFile&) = delete;

  // logits: [C, H, W] float32. name: the image's name ('/' becomes '_').
  void write(const std::string& name, const at::Tensor& logits);
  void commit();

 private:
  std::string path_, partial_;
  data::Hdf5Handle file_, group_;
  bool committed_ = false;
};

}  // namespace atrous::eval
