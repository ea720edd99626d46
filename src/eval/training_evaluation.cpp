#include "atrous/eval/training_evaluation.h"

#include <cmath>

#include "atrous/data/image_io.h"
#include "atrous/eval/prediction_preview.h"
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
  for (size_t c = 0; c < result.metrics.iou.size(); ++c)
    if (!std::isnan(result.metrics.iou[c]))
      summary.class_iou.emplace_back(c < class_names.size() ? class_names[c] : std::to_string(c),
                                     result.metrics.iou[c]);
  return summary;
}

std::function<train::EvaluationSummary(int64_t step)> training_evaluation(
    std::shared_ptr<model::DeepLabImpl> net, const data::Dataset& dataset, distributed::Communicator& comm,
    const c10::Device& device, model::Precision precision, int preview_images) {
  return [net, &dataset, &comm, device, precision, preview_images](int64_t) {
    PredictOptions options;
    options.precision = precision;
    Predictor predictor(model::DeepLab(net), options);
    train::EvaluationSummary summary =
        summarise_for_training(evaluate(predictor, dataset, comm, device), dataset.metadata().class_names);
    if (preview_images > 0 && comm.rank() == 0) {
      const at::Tensor picture = preview_predictions(predictor, dataset, preview_images, device);
      summary.preview.png = data::encode_rgb_png(picture);
      summary.preview.height = picture.size(0);
      summary.preview.width = picture.size(1);
    }
    return summary;
  };
}

}  // namespace atrous::eval
