#pragma once
// CRC-32C (Castagnoli), the checksum of TFRecord framing and so of TensorBoard event files.
//
// crc32c() is the standard CRC-32C (reflected polynomial 0x82F63B78, initial value and final xor
// 0xFFFFFFFF): crc32c("123456789") == 0xE3069283, crc32c of no bytes == 0. It extends like zlib's
// crc32: crc32c(b, nb, crc32c(a, na)) equals the CRC of a followed by b. masked_crc32c() is the
// masked form TFRecord stores, ((crc >> 15) | (crc << 17)) + 0xa282ead8, so that a CRC computed over
// data that itself holds CRCs stays meaningful. Both are pure functions, safe from any thread.

#include <cstddef>
#include <cstdint>

namespace atrous::observe {

// The CRC-32C of size bytes at data; crc: the CRC of the bytes before them (0 to start).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

// TFRecord's masked CRC-32C of size bytes at data.
uint32_t masked_crc32c(const void* data, size_t size);

}  // namespace atrous::observe
