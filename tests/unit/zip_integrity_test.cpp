// The zip walk of core/zip_integrity.h on damaged zip64 fields: offsets and sizes of 64 bits, where
// `offset + size` wraps around, are refused as pointing past the end of the file, never read.

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "atrous/core/zip_integrity.h"

namespace atrous {
namespace {

void put(std::vector<char>& bytes, uint64_t value, int size) {
  for (int i = 0; i < size; ++i) bytes.push_back(char(value >> (8 * i)));
}

// A zip of one stored entry "a" holding "x"; its central directory record carries a zip64 extra
// field with both sizes `zip64_size`. With `zip64_directory`, the end record defers to a zip64 end
// record that puts the central directory at `directory_offset`.
std::vector<char> zip(uint64_t zip64_size, bool zip64_directory, uint64_t directory_offset) {
  std::vector<char> bytes;
  put(bytes, 0x04034b50, 4), put(bytes, 20, 2), put(bytes, 0, 2), put(bytes, 0, 2), put(bytes, 0, 4);
  put(bytes, 0x8cdc1683, 4), put(bytes, 1, 4), put(bytes, 1, 4), put(bytes, 1, 2), put(bytes, 0, 2);
  bytes.push_back('a'), bytes.push_back('x');
  const uint64_t directory = bytes.size();
  put(bytes, 0x02014b50, 4), put(bytes, 45, 2), put(bytes, 45, 2), put(bytes, 0, 2), put(bytes, 0, 2);
  put(bytes, 0, 4), put(bytes, 0x8cdc1683, 4), put(bytes, 0xffffffff, 4), put(bytes, 0xffffffff, 4);
  put(bytes, 1, 2), put(bytes, 20, 2), put(bytes, 0, 2), put(bytes, 0, 2), put(bytes, 0, 2), put(bytes, 0, 4);
  put(bytes, 0, 4), bytes.push_back('a');
  put(bytes, 1, 2), put(bytes, 16, 2), put(bytes, zip64_size, 8), put(bytes, zip64_size, 8);
  const uint64_t record = bytes.size();
  if (zip64_directory) {
    put(bytes, 0x06064b50, 4), put(bytes, 44, 8), put(bytes, 45, 2), put(bytes, 45, 2), put(bytes, 0, 8);
    put(bytes, 1, 8), put(bytes, 1, 8), put(bytes, record - directory, 8), put(bytes, directory_offset, 8);
    put(bytes, 0x07064b50, 4), put(bytes, 0, 4), put(bytes, record, 8), put(bytes, 1, 4);
  }
  put(bytes, 0x06054b50, 4), put(bytes, 0, 4), put(bytes, zip64_directory ? 0xffff : 1, 2);
  put(bytes, zip64_directory ? 0xffff : 1, 2), put(bytes, record - directory, 4);
  put(bytes, zip64_directory ? 0xffffffff : directory, 4), put(bytes, 0, 2);
  return bytes;
}

std::string refusal(const std::vector<char>& bytes) {
  try {
    check_zip_entries(bytes);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "";
}

TEST(ZipIntegrity, Zip64OffsetsAndSizesThatWrapAroundAreRefused) {
  EXPECT_EQ(refusal(zip(1, false, 0)), "") << "the same zip, intact";
  EXPECT_EQ(refusal(zip(1, true, 32)), "") << "the same zip, with a zip64 end record";
  EXPECT_NE(refusal(zip(1, true, UINT64_MAX - 1)).find("points past the end of the file"), std::string::npos);
  EXPECT_NE(refusal(zip(UINT64_MAX, false, 0)).find("entry 'a' runs past the end of the file"),
            std::string::npos);
}

}  // namespace
}  // namespace atrous
