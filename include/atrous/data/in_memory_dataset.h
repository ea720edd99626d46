#pragma once
// InMemoryDataset: a Dataset (data/dataset.h) whose samples are tensors held in memory: samples made
// by a program rather than packed from files, and the datasets of tests, which need no file.
//
// It holds samples exactly as a pack stores them, and construction checks what opening a pack
// checks: at least one sample; every image uint8 [H, W, 3] and every label uint8 [H, W], all of one
// size H x W; every valid region within it (1..H x 1..W) and every source size positive. The
// metadata's height and width become H and W (a non-zero value that disagrees is an error). A
// violation is a UserError naming the dataset, the sample and what was expected.
// Immutable once built; read() hands out copies, so any number of threads may read at once.

#include <string>
#include <vector>

#include "atrous/data/dataset.h"

namespace atrous::data {

class InMemoryDataset : public Dataset {
 public:
  // description: what messages call the dataset.
  InMemoryDataset(PackMetadata metadata, std::vector<PackRecord> records,
                  std::string description = "in-memory dataset");

  int64_t size() const override { return static_cast<int64_t>(records_.size()); }
  const PackMetadata& metadata() const override { return metadata_; }
  PackRecord read(int64_t index) const override;
  std::string name(int64_t index) const override;
  std::string description() const override { return description_; }

 private:
  void check_record(size_t index) const;

  PackMetadata metadata_;
  std::vector<PackRecord> records_;
  std::string description_;
};

}  // namespace atrous::data
