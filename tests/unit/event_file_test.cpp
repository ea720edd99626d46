#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <regex>

#include "atrous/core/error.h"
#include "atrous/observe/crc32c.h"
#include "atrous/observe/event_file_writer.h"
#include "atrous/observe/tf_event.h"
#include "scratch_files.h"

namespace atrous::observe {
namespace {

namespace fs = std::filesystem;

uint64_t little_endian(const std::string& bytes, size_t at, int count) {
  uint64_t value = 0;
  for (int i = count - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes.at(at + i));
  return value;
}

// The test's own TFRecord reader: every record's payload; `error` says where the framing broke.
struct Records {
  std::vector<std::string> payloads;
  std::string error;
};

Records read_records(const std::string& bytes) {
  Records records;
  auto broken = [&records](const char* what, size_t at) {
    records.error = what + (" at " + std::to_string(at));
    return records;
  };
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 12) return broken("truncated header", at);
    const uint64_t length = little_endian(bytes, at, 8);
    if (little_endian(bytes, at + 8, 4) != masked_crc32c(bytes.data() + at, 8))
      return broken("length CRC", at);
    if (bytes.size() - at - 12 < length + 4) return broken("truncated data", at);
    std::string payload = bytes.substr(at + 12, length);
    if (little_endian(bytes, at + 12 + length, 4) != masked_crc32c(payload.data(), payload.size()))
      return broken("data CRC", at);
    records.payloads.push_back(payload);
    at += 12 + length + 4;
  }
  return records;
}

// The test's own protobuf field reader: one message's top-level fields, in order.
struct Field {
  uint32_t number = 0;
  uint32_t type = 0;
  uint64_t integer = 0;  // varint, fixed64 and fixed32 fields
  std::string bytes;     // length-delimited fields
};

uint64_t read_varint(const std::string& message, size_t& at) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const auto byte = static_cast<unsigned char>(message.at(at++));
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return value;
  }
  ADD_FAILURE() << "varint longer than 10 bytes";
  return value;
}

std::vector<Field> read_fields(const std::string& message) {
  std::vector<Field> fields;
  size_t at = 0;
  while (at < message.size()) {
    Field field;
    const uint64_t key = read_varint(message, at);
    field.number = static_cast<uint32_t>(key >> 3);
    field.type = static_cast<uint32_t>(key & 7);
    if (field.type == 0) field.integer = read_varint(message, at);
    if (field.type == 1 || field.type == 5) {
      const int size = field.type == 1 ? 8 : 4;
      field.integer = little_endian(message, at, size);
      at += size;
    }
    if (field.type == 2) {
      const uint64_t size = read_varint(message, at);
      field.bytes = message.substr(at, size);
      at += size;
    }
    fields.push_back(field);
  }
  return fields;
}

double as_double(uint64_t bits) {
  double value = 0;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

float as_float(uint64_t bits) {
  const auto bits32 = static_cast<uint32_t>(bits);
  float value = 0;
  std::memcpy(&value, &bits32, sizeof(value));
  return value;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A scratch folder of the test's own name, removed before and after.
struct ScratchFolder {
  fs::path path =
      fs::path(::testing::TempDir()) /
      ("atrous_event_file_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  ScratchFolder() {
    test_support::remove_tree(path.string());
    fs::create_directories(path);
  }
  ~ScratchFolder() { test_support::remove_tree(path.string()); }
};

// Not a decodable PNG: the encoder copies the bytes as they are, so PNG's signature and a tail do.
const std::string png_like = std::string("\x89PNG\r\n\x1a\n", 8) + "not really a png";

TEST(EventFile, Crc32cOfKnownInputs) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  // RFC 3720 (iSCSI), appendix B.4.
  const std::string zeros(32, '\0'), ones(32, '\xff');
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(crc32c(ascending.data(), ascending.size()), 0x46DD794Eu);
}

TEST(EventFile, Crc32cExtends) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  const uint32_t whole = crc32c(text.data(), text.size());
  for (size_t split = 0; split <= text.size(); ++split)
    EXPECT_EQ(crc32c(text.data() + split, text.size() - split, crc32c(text.data(), split)), whole) << split;
}

TEST(EventFile, MaskedCrc32c) {
  // ((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xa282ead8, modulo 2^32.
  EXPECT_EQ(masked_crc32c("123456789", 9), 0xC78AB0E5u);
}

TEST(EventFile, TfrecordFramingRoundTrips) {
  std::vector<std::string> payloads = {"", std::string("a\0b", 3), std::string(300, 'x')};
  std::string stream;
  for (const std::string& payload : payloads) stream += tfrecord(payload);
  EXPECT_EQ(stream.size(), 3 * 16 + 3 + 300u);
  Records records = read_records(stream);
  EXPECT_EQ(records.error, "");
  EXPECT_EQ(records.payloads, payloads);
  std::string corrupted = stream;
  corrupted[16 + 12 + 1] ^= 1;  // the second record's data
  EXPECT_EQ(read_records(corrupted).error, "data CRC at 16");
  EXPECT_EQ(read_records(stream.substr(0, stream.size() - 1)).error, "truncated data at 35");
}

TEST(EventFile, EncodesEventFields) {
  ImageValue image{"sample/0", 2, 3, colorspace_rgb, png_like};
  std::vector<Field> event = read_fields(encode_summary_event(1700000000.25, 300, {{"loss", 0.5}}, {image}));
  ASSERT_EQ(event.size(), 3u);
  EXPECT_EQ(event[0].number, 1u);
  EXPECT_EQ(event[0].type, 1u);
  EXPECT_EQ(as_double(event[0].integer), 1700000000.25);
  EXPECT_EQ(event[1].number, 2u);
  EXPECT_EQ(event[1].integer, 300u);
  EXPECT_EQ(event[2].number, 5u);
  std::vector<Field> values = read_fields(event[2].bytes);
  ASSERT_EQ(values.size(), 2u);
  std::vector<Field> scalar = read_fields(values[0].bytes);
  ASSERT_EQ(scalar.size(), 2u);
  EXPECT_EQ(scalar[0].bytes, "loss");
  EXPECT_EQ(scalar[1].number, 2u);
  EXPECT_EQ(scalar[1].type, 5u);
  EXPECT_EQ(as_float(scalar[1].integer), 0.5f);
  std::vector<Field> image_value = read_fields(values[1].bytes);
  ASSERT_EQ(image_value.size(), 2u);
  EXPECT_EQ(image_value[0].bytes, "sample/0");
  EXPECT_EQ(image_value[1].number, 4u);
  std::vector<Field> encoded = read_fields(image_value[1].bytes);
  ASSERT_EQ(encoded.size(), 4u);
  EXPECT_EQ(encoded[0].integer, 2u);
  EXPECT_EQ(encoded[1].integer, 3u);
  EXPECT_EQ(encoded[2].integer, 3u);
  EXPECT_EQ(encoded[3].bytes, png_like);
}

TEST(EventFile, TagsAreWrittenAsUtf8) {
  // A tag is a protobuf string: readers refuse one that is not UTF-8, so a Latin-1 class name in a
  // tag would make the whole file unreadable.
  const ImageValue image{"eval/caf\xE9", 1, 1, colorspace_rgb, png_like};
  const std::vector<Field> event = read_fields(
      encode_summary_event(0, 1, {{"eval_iou/caf\xE9", 0.5}, {"eval_iou/caf\xC3\xA9", 1}}, {image}));
  const std::vector<Field> values = read_fields(event.at(2).bytes);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(read_fields(values[0].bytes).at(0).bytes, "eval_iou/caf\xEF\xBF\xBD");  // U+FFFD
  EXPECT_EQ(read_fields(values[1].bytes).at(0).bytes, "eval_iou/caf\xC3\xA9");      // UTF-8 kept
  EXPECT_EQ(read_fields(values[2].bytes).at(0).bytes, "eval/caf\xEF\xBF\xBD");
}

TEST(EventFile, EncodesVarintsAsProtobufDoes) {
  std::string event = encode_summary_event(0, 300, {});
  EXPECT_EQ(event.substr(9, 3), std::string("\x10\xAC\x02", 3));  // 300 = 0b10'0101100
  std::vector<Field> negative = read_fields(encode_summary_event(0, -1, {}));
  EXPECT_EQ(negative[1].integer, std::numeric_limits<uint64_t>::max());  // ten bytes, two's complement
  std::vector<Field> version = read_fields(encode_file_version_event(2.5));
  ASSERT_EQ(version.size(), 2u);
  EXPECT_EQ(version[1].number, 3u);
  EXPECT_EQ(version[1].bytes, "brain.Event:2");
}

TEST(EventFile, WriterWritesScalarsAndImages) {
  ScratchFolder scratch;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::string path;
  {
    EventFileWriter writer((scratch.path / "run" / "tb").string(), "node07");
    path = writer.path();
    EXPECT_TRUE(std::regex_match(fs::path(path).filename().string(),
                                 std::regex(R"(events\.out\.tfevents\.\d{10}\.node07)")))
        << path;
    const size_t size_after_open = fs::file_size(path);
    EXPECT_EQ(read_records(file_bytes(path)).payloads.size(), 1u);
    writer.add(7, {{"loss", 0.75}, {"lr", nan}}, {{"sample/0", 2, 3, colorspace_rgb, png_like}});
    EXPECT_EQ(fs::file_size(path), size_after_open);  // buffered until flush()
    writer.flush();
    EXPECT_EQ(read_records(file_bytes(path)).payloads.size(), 2u);
    writer.add(8, {{"loss", 0.5}});
  }  // the destructor flushes step 8
  Records records = read_records(file_bytes(path));
  EXPECT_EQ(records.error, "");
  ASSERT_EQ(records.payloads.size(), 3u);
  EXPECT_NE(records.payloads[0].find("brain.Event:2"), std::string::npos);
  // wall_time (1 + 8 bytes), step (1 + 1), summary key and length (1 + 1), value key and length
  // (1 + 1), tag key and length (1 + 1): the first tag starts at byte 17.
  EXPECT_EQ(records.payloads[1].substr(17, 4), "loss");
  EXPECT_EQ(records.payloads[2].substr(17, 4), "loss");
  std::vector<Field> values = read_fields(read_fields(records.payloads[1]).at(2).bytes);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_TRUE(std::isnan(as_float(read_fields(values[1].bytes).at(1).integer)));
  EXPECT_NE(values[2].bytes.find(png_like), std::string::npos);
}

TEST(EventFile, TwoWritersInOneSecondWriteTwoFiles) {
  ScratchFolder scratch;
  for (int attempt = 0; attempt < 5; ++attempt) {  // until both start in the same second
    const std::string directory = (scratch.path / std::to_string(attempt)).string();
    EventFileWriter first(directory, "host");
    EventFileWriter second(directory, "host");
    EXPECT_NE(first.path(), second.path());
    for (const std::string& path : {first.path(), second.path()})
      EXPECT_EQ(read_records(file_bytes(path)).payloads.size(), 1u) << path;
    if (second.path() == first.path() + ".1") return;
  }
  ADD_FAILURE() << "no two writers started in the same second in five tries";
}

TEST(EventFile, NeverOverwritesAnExistingFile) {
  ScratchFolder scratch;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  std::vector<std::string> existing;
  for (int64_t s = seconds; s < seconds + 3; ++s) {
    existing.push_back((scratch.path / ("events.out.tfevents." + std::to_string(s) + ".host")).string());
    std::ofstream(existing.back()) << "existing";
  }
  EventFileWriter writer(scratch.path.string(), "host");
  writer.add(1, {{"loss", 1.0}});
  writer.flush();
  EXPECT_EQ(writer.path().substr(writer.path().size() - 2), ".1");
  for (const std::string& path : existing) EXPECT_EQ(file_bytes(path), "existing") << path;
  EXPECT_EQ(read_records(file_bytes(writer.path())).payloads.size(), 2u);
}

std::string error_creating(const std::string& directory, const std::string& hostname) {
  try {
    EventFileWriter writer(directory, hostname);
  } catch (const UserError& error) {
    return error.message();
  }
  return "";
}

TEST(EventFile, UnwritableLocationIsAUserError) {
  ScratchFolder scratch;
  const std::string blocker = (scratch.path / "blocker").string();
  std::ofstream(blocker) << "a file, not a directory";
  const std::string under_a_file = blocker + "/run";
  std::string message = error_creating(under_a_file, "host");
  EXPECT_NE(message.find(under_a_file), std::string::npos) << message;
  EXPECT_NE(message.find("writable"), std::string::npos) << message;
  // The directory exists, but the file cannot be created (a name longer than the system allows).
  message = error_creating(scratch.path.string(), std::string(300, 'h'));
  EXPECT_NE(message.find(scratch.path.string() + "/events.out.tfevents."), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(ENAMETOOLONG)), std::string::npos) << message;
}

TEST(EventFile, FailedWriteIsAUserErrorAndALaterFlushGoesOn) {
  ScratchFolder scratch;
  EventFileWriter writer(scratch.path.string(), "host");
  const std::string records_before = file_bytes(writer.path());
  for (int step = 1; step <= 20; ++step) writer.add(step, {{"loss", 1.0 / step}});
  // A file size limit 100 bytes past the file's end: the write stops there and then fails (EFBIG).
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit limited = saved;
  limited.rlim_cur = records_before.size() + 100;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  std::string message;
  try {
    writer.flush();
  } catch (const UserError& error) {
    message = error.message();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, saved_handler);
  EXPECT_NE(message.find(writer.path()), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
  EXPECT_EQ(file_bytes(writer.path()).size(), records_before.size() + 100);
  writer.flush();
  Records records = read_records(file_bytes(writer.path()));
  EXPECT_EQ(records.error, "");
  EXPECT_EQ(records.payloads.size(), 21u);
}

}  // namespace
}  // namespace atrous::observe
