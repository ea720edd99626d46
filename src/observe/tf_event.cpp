#include "atrous/observe/tf_event.h"

#include <cstring>

#include "atrous/core/json.h"
#include "atrous/observe/crc32c.h"

namespace atrous::observe {
namespace {

// Protobuf's wire types.
enum WireType : uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void put_key(std::string& out, uint32_t field, WireType type) {
  put_varint(out, (field << 3) | type);
}

// int32 and int64 fields: negative values as their 64-bit two's complement, as protobuf does.
void put_int_field(std::string& out, uint32_t field, int64_t value) {
  put_key(out, field, varint);
  put_varint(out, static_cast<uint64_t>(value));
}

void put_double_field(std::string& out, uint32_t field, double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(bits));
  put_key(out, field, fixed64);
  put_little_endian(out, bits, 8);
}

void put_float_field(std::string& out, uint32_t field, float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof(bits));
  put_key(out, field, fixed32);
  put_little_endian(out, bits, 4);
}

void put_bytes_field(std::string& out, uint32_t field, const std::string& bytes) {
  put_key(out, field, length_delimited);
  put_varint(out, bytes.size());
  out += bytes;
}

std::string encode_scalar_value(const ScalarValue& scalar) {
  std::string value;
  put_bytes_field(value, 1, valid_utf8(scalar.tag));
  put_float_field(value, 2, static_cast<float>(scalar.value));
  return value;
}

std::string encode_image_value(const ImageValue& image) {
  std::string encoded;
  put_int_field(encoded, 1, image.height);
  put_int_field(encoded, 2, image.width);
  put_int_field(encoded, 3, image.colorspace);
  put_bytes_field(encoded, 4, image.png);
  std::string value;
  put_bytes_field(value, 1, valid_utf8(image.tag));
  put_bytes_field(value, 4, encoded);
  return value;
}

}  // namespace

std::string encode_file_version_event(double wall_time, const std::string& version) {
  std::string event;
  put_double_field(event, 1, wall_time);
  put_bytes_field(event, 3, version);
  return event;
}

std::string encode_session_start_event(double wall_time, int64_t step) {
  std::string session_log;
  put_int_field(session_log, 1, 1);  // status = START
  std::string event;
  put_double_field(event, 1, wall_time);
  put_int_field(event, 2, step);
  put_bytes_field(event, 7, session_log);
  return event;
}

std::string encode_summary_event(double wall_time, int64_t step, const std::vector<ScalarValue>& scalars,
                                 const std::vector<ImageValue>& images) {
  std::string summary;
  for (const ScalarValue& scalar : scalars) put_bytes_field(summary, 1, encode_scalar_value(scalar));
  for (const ImageValue& image : images) put_bytes_field(summary, 1, encode_image_value(image));
  std::string event;
  put_double_field(event, 1, wall_time);
  put_int_field(event, 2, step);
  put_bytes_field(event, 5, summary);
  return event;
}

std::string tfrecord(const std::string& data) {
  std::string record;
  record.reserve(data.size() + 16);
  put_little_endian(record, data.size(), 8);
  put_little_endian(record, masked_crc32c(record.data(), 8), 4);
  record += data;
  put_little_endian(record, masked_crc32c(data.data(), data.size()), 4);
  return record;
}

}  // namespace atrous::observe
