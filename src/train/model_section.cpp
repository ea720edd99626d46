#include "atrous/train/model_section.h"

#include "atrous/model/deeplab.h"
#include "atrous/model/weight_import.h"

namespace atrous::train {

void ModelSection::save(SectionValues& out) const {
  for (const auto& item : net_.named_parameters()) out.set(item.key(), item.value());
  for (const auto& item : net_.named_buffers()) out.set(item.key(), item.value());
}

void ModelSection::restore(const SectionValues& values) {
  model::import_weights(net_, values.tensor_values(), "model", {}, false, values.file());
}

}  // namespace atrous::train
