#include "atrous/observe/crc32c.h"

#include <array>

namespace atrous::observe {
namespace {

constexpr uint32_t castagnoli_reflected = 0x82F63B78;
constexpr uint32_t tfrecord_mask_delta = 0xa282ead8;

// table[b]: the CRC register after shifting the byte b through it, eight bits at a time.
constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t value = byte;
    for (int bit = 0; bit < 8; ++bit) value = (value & 1) ? (value >> 1) ^ castagnoli_reflected : value >> 1;
    table[byte] = value;
  }
  return table;
}

constexpr std::array<uint32_t, 256> table = make_table();

}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  uint32_t register_value = ~crc;
  for (size_t i = 0; i < size; ++i)
    register_value = table[(register_value ^ bytes[i]) & 0xFF] ^ (register_value >> 8);
  return ~register_value;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + tfrecord_mask_delta;
}

}  // namespace atrous::observe
