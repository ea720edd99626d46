#pragma once
// Distributed evaluation (`atrous eval`, and train.eval_every): every rank predicts its share of a
// pack (samples rank, rank + world, ...: each sample exactly once, nothing padded or dropped), counts
// a confusion matrix over each sample's valid (unpadded) region, and the matrices are summed by one
// allreduce, so every rank ends with the metrics of the whole pack.

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "atrous/data/pack_reader.h"
#include "atrous/distributed/communicator.h"
#include "atrous/eval/confusion_matrix.h"
#include "atrous/eval/predictor.h"

namespace atrous::eval {

struct EvalResult {
  at::Tensor matrix;  // [C, C] int64, the whole pack's
  SegmentationMetrics metrics;
  int64_t samples = 0;
};

// Collective. device: where the model runs.
EvalResult evaluate(Predictor& predictor, const data::PackReader& pack, distributed::Communicator& comm,
                    const c10::Device& device);

// The per-class table rank 0 prints: class, IoU (or "absent"), then mIoU, classes counted, pixel
// accuracy, and the absent-class convention.
std::string metrics_table(const EvalResult& result, const std::vector<std::string>& class_names);

// {"miou": .., "pixel_accuracy": .., "classes_counted": .., "samples": .., "iou": {"name": v|null},
//  "confusion_matrix": [[..]]}
std::string metrics_json(const EvalResult& result, const std::vector<std::string>& class_names);

}  // namespace atrous::eval
