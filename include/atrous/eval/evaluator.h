#pragma once
// Distributed evaluation (`atrous eval`, and train.eval_every): every rank predicts its share of a
// dataset (samples rank, rank + world, ...: each sample exactly once, nothing padded or dropped),
// counts a confusion matrix over each sample's valid (unpadded) region, and the matrices are summed
// by one allreduce, so every rank ends with the metrics of the whole dataset.
// A model whose class count differs from the dataset's is a UserError naming the dataset.

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "atrous/data/dataset.h"
#include "atrous/distributed/communicator.h"
#include "atrous/eval/confusion_matrix.h"
#include "atrous/eval/predictor.h"

namespace atrous::eval {

// The outcome of one evaluation, the same on every rank.
struct EvalResult {
  // [C, C] int64 on the CPU, the whole dataset's: matrix[g][p] counts the valid pixels of ground
  // truth class g predicted as p (ignore-label pixels are not counted).
  at::Tensor matrix;
  // Derived from `matrix` (eval/confusion_matrix.h): IoU per class (NaN for a class absent from
  // both ground truth and predictions), mIoU over the classes present, pixel accuracy, pixels.
  SegmentationMetrics metrics;
  // Samples evaluated, over all ranks: the dataset's size.
  int64_t samples = 0;
};

// A UserError naming the dataset when it holds no samples: there is nothing to score, and an mIoU
// of 0 would read as a result. evaluate() checks it; commands call it while setting up, so that the
// job reports it once, before a model is built.
void require_samples(const data::Dataset& dataset);

// Collective. device: where the model runs. The dataset must hold samples (require_samples).
// Rank r scores samples r, r + N, ...; one allreduce sums the confusion matrices. A sample that a
// rank cannot read or score (a checksum that fails, a label outside the classes: a UserError) stops
// that rank's loop, and it still joins the allreduce with its failure flagged, so no rank waits for
// it: that rank throws its own error, every other rank a UserError naming the failed ranks.
EvalResult evaluate(Predictor& predictor, const data::Dataset& dataset, distributed::Communicator& comm,
                    const c10::Device& device);

// The per-class table rank 0 prints: class, IoU (or "absent"), then mIoU, classes counted, pixel
// accuracy, and the absent-class convention.
std::string metrics_table(const EvalResult& result, const std::vector<std::string>& class_names);

// {"miou": .., "pixel_accuracy": .., "classes_counted": .., "samples": .., "iou": {"name": v|null},
//  "confusion_matrix": [[..]]}: names escaped (core/json.h), non-finite numbers null. "iou" has one
// key per class, in class order: the class's name ("class <c>" when it has none); a name that an
// earlier class already took gets " (class <c>)" appended, so no class's IoU is hidden by another's.
std::string metrics_json(const EvalResult& result, const std::vector<std::string>& class_names);

}  // namespace atrous::eval
