#include "atrous/eval/evaluator.h"

#include <ATen/ATen.h>

#include <cmath>
#include <iomanip>
#include <set>
#include <sstream>

#include "atrous/core/error.h"
#include "atrous/core/json.h"

namespace atrous::eval {

void require_samples(const data::Dataset& dataset) {
  if (dataset.size() == 0)
    throw UserError(
        to_text(dataset.description(),
                " holds no samples, so there is nothing to evaluate; pack the validation images into "
                "it (atrous pack)"),
        ATROUS_HERE);
}

namespace {

// The confusion matrix of sample `index`; a UserError naming the sample for labels outside the classes.
at::Tensor score_sample(Predictor& predictor, const data::Dataset& dataset, int64_t index, int64_t classes,
                        int64_t ignore, const c10::Device& device) {
  const data::PackRecord record = dataset.read(index);
  const at::Tensor image = record.image.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).to(device);
  const at::Tensor prediction = predictor.predict(image)[0].cpu();
  const int64_t h = record.valid_hw[0], w = record.valid_hw[1];
  try {
    return confusion_matrix(prediction.slice(0, 0, h).slice(1, 0, w),
                            record.label.slice(0, 0, h).slice(1, 0, w), classes, ignore);
  } catch (const Error& error) {  // the labels: name where they are
    throw UserError(
        to_text(dataset.description(), ", sample ", index, " ('", record.name, "'): ", error.message()),
        ATROUS_HERE);
  }
}

}  // namespace

EvalResult evaluate(Predictor& predictor, const data::Dataset& dataset, distributed::Communicator& comm,
                    const c10::Device& device) {
  require_samples(dataset);
  const int64_t classes = dataset.metadata().num_classes, ignore = dataset.metadata().ignore_label;
  ATROUS_CHECK(predictor.num_classes() == classes, dataset.description(), " has ", classes,
               " classes but the model predicts ", predictor.num_classes(),
               "; evaluate on data with the classes the model was trained for");
  at::Tensor matrix = at::zeros({classes, classes}, at::kLong);
  int64_t samples = 0;
  std::exception_ptr failure;  // this rank's: it stops scoring, and still joins the allreduce
  try {
    for (int64_t index = comm.rank(); index < dataset.size(); index += comm.size()) {
      matrix += score_sample(predictor, dataset, index, classes, ignore, device);
      ++samples;
    }
  } catch (const UserError&) {
    failure = std::current_exception();
  }
  // Counts travel as doubles (exact below 2^53 pixels) through the communicator's float path, with a
  // failure flag per rank after them.
  at::Tensor failed = at::zeros({comm.size()}, at::kDouble);
  if (failure) failed[comm.rank()] = 1.0;
  at::Tensor summed =
      at::cat({matrix.flatten().to(at::kDouble), at::full({1}, double(samples), at::kDouble), failed});
  if (device.is_cuda()) summed = summed.to(device);
  comm.allreduce(summed, distributed::ReduceOp::sum)->wait();
  summed = summed.cpu();
  if (failure) std::rethrow_exception(failure);
  std::string failed_ranks;
  for (int rank = 0; rank < comm.size(); ++rank)
    if (summed[classes * classes + 1 + rank].item<double>() != 0)
      failed_ranks += (failed_ranks.empty() ? "" : ", ") + std::to_string(rank);
  if (!failed_ranks.empty())
    throw UserError(to_text("evaluation on ", dataset.description(), " stopped: rank(s) ", failed_ranks,
                            " could not score their samples (their own errors say why)"),
                    ATROUS_HERE);
  EvalResult result;
  result.matrix = summed.slice(0, 0, classes * classes).view({classes, classes}).to(at::kLong);
  result.samples = int64_t(summed[classes * classes].item<double>());
  result.metrics = segmentation_metrics(result.matrix);
  return result;
}

std::string metrics_table(const EvalResult& result, const std::vector<std::string>& class_names) {
  std::ostringstream table;
  table << std::fixed << std::setprecision(2);
  table << "  " << std::left << std::setw(24) << "class" << std::right << std::setw(8) << "IoU %"
        << "\n";
  bool any_absent = false;
  for (size_t c = 0; c < result.metrics.iou.size(); ++c) {
    const std::string name = c < class_names.size() ? class_names[c] : "class " + std::to_string(c);
    table << "  " << std::left << std::setw(24) << name << std::right << std::setw(8);
    if (std::isnan(result.metrics.iou[c])) {
      table << "absent";
      any_absent = true;
    } else {
      table << 100 * result.metrics.iou[c];
    }
    table << "\n";
  }
  table << "  mIoU " << 100 * result.metrics.mean_iou << "% over " << result.metrics.classes_counted << " of "
        << result.metrics.iou.size() << " classes, pixel accuracy " << 100 * result.metrics.pixel_accuracy
        << "%, " << result.samples << " images, " << result.metrics.pixels << " labelled pixels\n";
  if (any_absent)
    table << "  (absent: in neither the ground truth nor the predictions; left out of the mean)\n";
  return table.str();
}

std::string metrics_json(const EvalResult& result, const std::vector<std::string>& class_names) {
  std::set<std::string> taken;  // JSON readers keep one value of a repeated key: every key is distinct
  std::ostringstream json;
  json << "{\"miou\": " << json_number(result.metrics.mean_iou)
       << ", \"pixel_accuracy\": " << json_number(result.metrics.pixel_accuracy)
       << ", \"classes_counted\": " << result.metrics.classes_counted << ", \"samples\": " << result.samples
       << ", \"iou\": {";
  for (size_t c = 0; c < result.metrics.iou.size(); ++c) {
    // Compared as written: names that differ only in bytes that are not UTF-8 may write the same.
    std::string key = valid_utf8(c < class_names.size() ? class_names[c] : "class " + std::to_string(c));
    while (!taken.insert(key).second) key += " (class " + std::to_string(c) + ")";
    json << (c ? ", " : "") << json_string(key) << ": " << json_number(result.metrics.iou[c]);
  }
  json << "}, \"confusion_matrix\": [";
  const int64_t classes = result.matrix.size(0);
  for (int64_t g = 0; g < classes; ++g) {
    json << (g ? ", " : "") << "[";
    for (int64_t p = 0; p < classes; ++p) json << (p ? ", " : "") << result.matrix[g][p].item<int64_t>();
    json << "]";
  }
  json << "]}";
  return json.str();
}

}  // namespace atrous::eval
