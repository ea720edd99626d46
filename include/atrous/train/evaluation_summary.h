#pragma once
// EvaluationSummary: what an evaluation inside training (train.eval_every) tells the trainer. The
// evaluation itself lives in the eval layer, above this one, which fills it in
// (eval/training_evaluation.h); the trainer reads the typed figures, and records `metrics` as is.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace atrous::train {

struct EvaluationSummary {
  double mean_iou = 0;          // over the classes counted, in [0, 1]
  double pixel_accuracy = 0;    // in [0, 1]
  int64_t classes_counted = 0;  // classes present in the ground truth or the predictions
  int64_t samples = 0;          // samples evaluated
  std::string metrics;          // the metrics as one JSON object, as `atrous eval` writes eval.json
  std::vector<std::pair<std::string, double>> class_iou;  // per class name; absent classes left out
  struct Preview {                                        // a picture of predictions (rank 0), or empty
    std::string png;                                      // PNG bytes of an RGB image
    int64_t height = 0, width = 0;
  } preview;
};

}  // namespace atrous::train
