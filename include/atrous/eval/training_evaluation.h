#pragma once
// The evaluation that `atrous train` runs every train.eval_every steps (train/evaluation_hook.h):
// single-scale, unflipped prediction by the training model itself on a validation dataset, every
// rank its share (eval/evaluator.h), summarised for the trainer as a typed result.

#include <functional>
#include <memory>

#include "atrous/data/dataset.h"
#include "atrous/distributed/communicator.h"
#include "atrous/eval/evaluator.h"
#include "atrous/model/precision.h"
#include "atrous/train/evaluation_summary.h"

namespace atrous::model {
class DeepLabImpl;
}

namespace atrous::eval {

// The typed figures of `result`, and its metrics object (metrics_json) for the run's record.
train::EvaluationSummary summarise_for_training(const EvalResult& result,
                                                const std::vector<std::string>& class_names);

// A collective evaluation of `net` on `dataset` through `comm`, single-scale, in the training's
// precision (train.precision), for the trainer's EvaluationFactory. With preview_images > 0 rank 0 also
// draws its predictions on the first preview_images samples (eval/prediction_preview.h) into the
// summary's preview, for TensorBoard. Every argument must outlive the returned function.
std::function<train::EvaluationSummary(int64_t step)> training_evaluation(
    std::shared_ptr<model::DeepLabImpl> net, const data::Dataset& dataset, distributed::Communicator& comm,
    const c10::Device& device, model::Precision precision, int preview_images = 0);

}  // namespace atrous::eval
