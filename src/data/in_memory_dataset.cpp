#include "atrous/data/in_memory_dataset.h"

#include "atrous/core/error.h"

namespace atrous::data {

InMemoryDataset::InMemoryDataset(PackMetadata metadata, std::vector<PackRecord> records,
                                 std::string description)
    : metadata_(std::move(metadata)), records_(std::move(records)), description_(std::move(description)) {
  ATROUS_CHECK(!records_.empty(), description_, " has no samples; give it at least one");
  const at::Tensor& first = records_.front().label;
  ATROUS_CHECK(first.defined() && first.dim() == 2, description_, ": sample 0 ('", records_.front().name,
               "') needs a label [H, W]");
  const int64_t height = first.size(0), width = first.size(1);
  ATROUS_CHECK((metadata_.height == 0 || metadata_.height == height) &&
                   (metadata_.width == 0 || metadata_.width == width),
               description_, ": the metadata says ", metadata_.height, " x ", metadata_.width,
               " but the samples are ", height, " x ", width,
               "; leave height and width 0 or make them agree");
  metadata_.height = height;
  metadata_.width = width;
  for (size_t i = 0; i < records_.size(); ++i) {
    check_record(i);
    records_[i].image = records_[i].image.contiguous();
    records_[i].label = records_[i].label.contiguous();
  }
}

void InMemoryDataset::check_record(size_t index) const {
  const PackRecord& record = records_[index];
  const int64_t h = metadata_.height, w = metadata_.width;
  ATROUS_CHECK(record.image.defined() && record.image.scalar_type() == at::kByte &&
                   record.image.sizes() == at::IntArrayRef({h, w, 3}),
               description_, ": sample ", index, " ('", record.name, "') needs an image uint8 [", h, ", ", w,
               ", 3], got ",
               record.image.defined() ? to_text(record.image.scalar_type(), " ", record.image.sizes())
                                      : std::string("none"));
  ATROUS_CHECK(record.label.defined() && record.label.scalar_type() == at::kByte &&
                   record.label.sizes() == at::IntArrayRef({h, w}),
               description_, ": sample ", index, " ('", record.name, "') needs a label uint8 [", h, ", ", w,
               "], got ",
               record.label.defined() ? to_text(record.label.scalar_type(), " ", record.label.sizes())
                                      : std::string("none"));
  ATROUS_CHECK(record.valid_hw[0] >= 1 && record.valid_hw[0] <= h && record.valid_hw[1] >= 1 &&
                   record.valid_hw[1] <= w,
               description_, ": sample ", index, " ('", record.name, "') has the valid region ",
               record.valid_hw[0], " x ", record.valid_hw[1], ", outside its ", h, " x ", w, " pixels");
  ATROUS_CHECK(record.source_hw[0] >= 1 && record.source_hw[1] >= 1, description_, ": sample ", index, " ('",
               record.name, "') has the source size ", record.source_hw[0], " x ", record.source_hw[1],
               "; both must be >= 1");
}

PackRecord InMemoryDataset::read(int64_t index) const {
  ATROUS_ASSERT(index >= 0 && index < size(), "sample ", index, " of ", description_, " with ", size(),
                " samples");
  PackRecord record = records_[static_cast<size_t>(index)];
  record.image = record.image.clone();
  record.label = record.label.clone();
  return record;
}

std::string InMemoryDataset::name(int64_t index) const {
  ATROUS_ASSERT(index >= 0 && index < size(), "sample ", index, " of ", description_, " with ", size(),
                " samples");
  return records_[static_cast<size_t>(index)].name;
}

}  // namespace atrous::data
