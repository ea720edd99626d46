#pragma once
// LogitsFile (`atrous infer --infer.logits_out FILE.h5`): raw logits for ensembling or
// post-processing, one float32 dataset per image, /logits/<name> of shape [C, H, W] at the image's
// original size, with the attribute num_classes on the root. Written as an OutputFile
// (core/output_file.h) and renamed into place by commit(); readable by h5py. <name> is logits_key(the input's
// name): '/' becomes '_', and a name of dots only ("." of an image "..png", which HDF5 takes for the group)
// gets a leading
// '_'. check_distinct_logits_keys() refuses, before anything is written, inputs whose keys collide.

#include <ATen/core/Tensor.h>

#include <string>

#include "atrous/core/output_file.h"
#include "atrous/data/hdf5_handle.h"

namespace atrous::data {
struct ImageInputs;
}

namespace atrous::eval {

std::string logits_key(const std::string& name);
void check_distinct_logits_keys(const data::ImageInputs& inputs);

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
  std::string path_;
  OutputFile output_;  // before the handles: destroyed after them
  data::Hdf5Handle file_, group_;
};

}  // namespace atrous::eval
