#include "atrous/eval/training_evaluation.h"

#include "atrous/model/deeplab.h"

namespace atrous::eval {

train::EvaluationSummary summarise_for_training(const EvalResult& result,
                                                const std::vector<std::string>& class_names) {
  train::EvaluationSummary summary;
  summary.mean_iou = result.metrics.mean_iou;
  summary.pixel_accuracy = result.metrics.pixel_accuracy;
  summary.classes_counted = result.metrics.classes_counted;
  summary.samples = result.samples;
  summary.metrics = metrics_json(result, class_names);
  return summary;
}

std::function<train::EvaluationSummary(int64_t step)> training_evaluation(
    std::shared_ptr<model::DeepLabImpl> net, const data::Dataset& dataset, distributed::Communicator& comm,
    const c10::Device& device, model::Precision precision) {
  return [net, &dataset, &comm, device, precision](int64_t) {
    PredictOptions options;
    options.precision = precision;
    Predictor predictor(model::DeepLab(net), options);
    return summarise_for_training(evaluate(predictor, dataset, comm, device), dataset.metadata().class_names);
  };
}

}  // namespace atrous::eval
