#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>

#include "atrous/core/error.h"
#include "atrous/data/in_memory_dataset.h"
#include "atrous/data/loader.h"
#include "atrous/data/pack_reader.h"
#include "atrous/data/pack_writer.h"

namespace atrous::data {
namespace {

namespace fs = std::filesystem;

PackMetadata test_metadata() {
  PackMetadata metadata;
  metadata.num_classes = 4;
  metadata.class_names = {"a", "b", "c", "d"};
  metadata.palette = {{0, 0, 0}, {1, 1, 1}, {2, 2, 2}, {3, 3, 3}};
  metadata.mean_rgb = {100.0f, 110.0f, 120.0f};
  metadata.resize_policy = "test";
  return metadata;
}

// 24 random 20x16 samples.
std::vector<PackRecord> random_records() {
  std::vector<PackRecord> records;
  for (int i = 0; i < 24; ++i) {
    at::manual_seed(i);
    at::Tensor image = at::randint(0, 256, {20, 16, 3}, at::kLong).to(at::kByte);
    at::Tensor label = at::randint(0, 4, {20, 16}, at::kLong).to(at::kByte);
    records.push_back({image, label, {20, 16}, {20, 16}, std::to_string(i)});
  }
  return records;
}

// The samples held in memory, built once for the whole suite.
class LoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dataset = std::make_unique<InMemoryDataset>(test_metadata(), random_records(), "loader test samples");
  }
  static void TearDownTestSuite() { dataset.reset(); }

  static LoaderOptions options(int batch, int threads, bool augment = true) {
    LoaderOptions o;
    o.batch_size = batch;
    o.reader_threads = threads;
    o.prefetch = 2;
    o.seed = 17;
    o.augment = augment;
    o.drop_last = augment;
    return o;
  }
  static AugmentOptions crop(int size) {
    AugmentOptions a;
    a.crop_size = size;
    return a;
  }
  // Every batch of one epoch.
  static std::vector<Batch> epoch(Loader& loader, uint64_t number, int64_t position = 0) {
    loader.start_epoch(number, position);
    std::vector<Batch> batches;
    while (auto batch = loader.next()) batches.push_back(std::move(*batch));
    return batches;
  }

  static std::unique_ptr<InMemoryDataset> dataset;
};
std::unique_ptr<InMemoryDataset> LoaderTest::dataset;

TEST_F(LoaderTest, BatchesDoNotDependOnTheNumberOfReaderThreads) {
  Loader one(*dataset, ShardSampler(24, 5, 0, 1, ShardRemainder::drop), options(4, 1), crop(17));
  Loader three(*dataset, ShardSampler(24, 5, 0, 1, ShardRemainder::drop), options(4, 3), crop(17));
  auto a = epoch(one, 2), b = epoch(three, 2);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].indices, b[i].indices);
    EXPECT_TRUE(a[i].images.equal(b[i].images)) << i;
    EXPECT_TRUE(a[i].labels.equal(b[i].labels)) << i;
    EXPECT_EQ(a[i].images.sizes(), (at::IntArrayRef{4, 3, 17, 17}));
    EXPECT_EQ(a[i].position, static_cast<int64_t>(4 * (i + 1)));
  }
}

TEST_F(LoaderTest, ASampleIsAugmentedIdenticallyOnOneTwoOrFourRanks) {
  std::map<int64_t, std::pair<at::Tensor, at::Tensor>> alone;
  Loader single(*dataset, ShardSampler(24, 5, 0, 1, ShardRemainder::drop), options(2, 2), crop(15));
  for (const Batch& batch : epoch(single, 1))
    for (size_t k = 0; k < batch.indices.size(); ++k)
      alone[batch.indices[k]] = {batch.images[k], batch.labels[k]};
  for (int world : {2, 4}) {
    for (int rank = 0; rank < world; ++rank) {
      Loader loader(*dataset, ShardSampler(24, 5, rank, world, ShardRemainder::drop), options(2, 2),
                    crop(15));
      for (const Batch& batch : epoch(loader, 1))
        for (size_t k = 0; k < batch.indices.size(); ++k) {
          EXPECT_TRUE(batch.images[k].equal(alone.at(batch.indices[k]).first)) << "world " << world;
          EXPECT_TRUE(batch.labels[k].equal(alone.at(batch.indices[k]).second)) << "world " << world;
        }
    }
  }
}

TEST_F(LoaderTest, ResumingFromAPositionGivesTheSameBatches) {
  Loader loader(*dataset, ShardSampler(24, 5, 1, 2, ShardRemainder::drop), options(3, 2), crop(15));
  auto whole = epoch(loader, 4);
  ASSERT_EQ(whole.size(), 4u);
  auto resumed = epoch(loader, 4, whole[1].position);  // as after a checkpoint at the second batch
  ASSERT_EQ(resumed.size(), 2u);
  for (size_t i = 0; i < resumed.size(); ++i) {
    EXPECT_EQ(resumed[i].indices, whole[i + 2].indices);
    EXPECT_TRUE(resumed[i].images.equal(whole[i + 2].images));
    EXPECT_TRUE(resumed[i].labels.equal(whole[i + 2].labels));
  }
  EXPECT_THROW(loader.start_epoch(4, 13), UserError);  // beyond this rank's 12 samples
}

TEST_F(LoaderTest, EvaluationPadsAndKeepsTheLastSmallerBatch) {
  Loader loader(*dataset, ShardSampler(24, 5, 0, 1, ShardRemainder::drop, false), options(5, 2, false),
                crop(21));
  auto batches = epoch(loader, 0);
  ASSERT_EQ(batches.size(), 5u);
  EXPECT_EQ(batches.back().indices.size(), 4u);
  EXPECT_EQ(batches[0].indices, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  PackRecord first = dataset->read(0);
  EXPECT_TRUE(batches[0].labels[0].narrow(0, 0, 20).narrow(1, 0, 16).equal(first.label));
  EXPECT_TRUE(batches[0].labels[0].narrow(0, 20, 1).eq(255).all().item<bool>());
  EXPECT_TRUE(batches[0].images[0][2].narrow(1, 16, 5).eq(120.0f).all().item<bool>());
}

TEST_F(LoaderTest, AnErrorOnAReaderThreadReachesTheCaller) {
  AugmentOptions vanishing = crop(9);
  vanishing.min_scale = vanishing.max_scale = 0.01;  // 20x16 scaled to nothing
  Loader loader(*dataset, ShardSampler(24, 5, 0, 1, ShardRemainder::drop), options(2, 2), vanishing);
  loader.start_epoch(0);
  try {
    loader.next();
    FAIL() << "a sample scaled to no pixels was delivered";
  } catch (const UserError& error) {
    EXPECT_NE(error.message().find("raise data.min_scale"), std::string::npos) << error.message();
  }
}

TEST_F(LoaderTest, APackGivesTheSameBatchesAsItsSamplesInMemory) {
  const std::string path = (fs::path(::testing::TempDir()) / "atrous_loader_test.h5").string();
  PackMetadata metadata = test_metadata();
  metadata.height = 20;
  metadata.width = 16;
  {
    PackWriter writer(path, metadata, 0);
    for (const PackRecord& record : random_records())
      writer.append(record.name, record.image, record.label, record.valid_hw, record.source_hw);
    writer.commit();
  }
  const PackReader pack(path);
  Loader from_pack(pack, ShardSampler(24, 5, 0, 1, ShardRemainder::drop), options(4, 2), crop(17));
  Loader from_memory(*dataset, ShardSampler(24, 5, 0, 1, ShardRemainder::drop), options(4, 2), crop(17));
  auto a = epoch(from_pack, 3), b = epoch(from_memory, 3);
  fs::remove(path);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].indices, b[i].indices);
    EXPECT_TRUE(a[i].images.equal(b[i].images)) << i;
    EXPECT_TRUE(a[i].labels.equal(b[i].labels)) << i;
  }
}

TEST_F(LoaderTest, OptionsAreValidatedByName) {
  LoaderOptions bad = options(0, 1);
  EXPECT_THROW(bad.validate(), OptionError);
  bad = options(1, 0);
  EXPECT_THROW(bad.validate(), OptionError);
  bad = options(1, 1);
  bad.seed = -1;
  EXPECT_THROW(bad.validate(), OptionError);
  bad = options(1, 257);  // more readers than any machine uses: a typing mistake
  EXPECT_THROW(bad.validate(), OptionError);
}

}  // namespace
}  // namespace atrous::data
