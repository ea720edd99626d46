#include "atrous/eval/prediction_preview.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "atrous/core/error.h"
#include "atrous/eval/prediction_grid.h"

namespace atrous::eval {

at::Tensor preview_predictions(Predictor& predictor, const data::Dataset& dataset, int64_t count,
                               const c10::Device& device) {
  ATROUS_ASSERT(count >= 1, "preview_predictions of ", count, " samples");
  const data::PackMetadata& metadata = dataset.metadata();
  std::vector<GridSample> samples;
  for (int64_t index = 0; index < std::min(count, dataset.size()); ++index) {
    const data::PackRecord record = dataset.read(index);
    const int64_t h = record.valid_hw[0], w = record.valid_hw[1];
    const at::Tensor image = record.image.slice(0, 0, h).slice(1, 0, w).contiguous();
    const at::Tensor input = image.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).to(device);
    const at::Tensor prediction = predictor.predict(input)[0].cpu().clamp(0, 255).to(at::kByte);
    samples.push_back(
        {image, record.label.slice(0, 0, h).slice(1, 0, w).contiguous(), prediction, record.name});
  }
  GridStyle style;
  style.palette = metadata.palette;
  style.class_names = metadata.class_names;
  style.ignore_label = int(metadata.ignore_label);
  return prediction_grid(samples, style);
}

}  // namespace atrous::eval
