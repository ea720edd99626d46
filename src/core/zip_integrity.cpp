#include "atrous/core/zip_integrity.h"

#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "atrous/core/error.h"

namespace atrous {
namespace {

constexpr uint32_t central_signature = 0x02014b50, local_signature = 0x04034b50, end_signature = 0x06054b50,
                   zip64_locator_signature = 0x07064b50, zip64_end_signature = 0x06064b50;

class ZipBytes {
 public:
  explicit ZipBytes(const std::vector<char>& bytes) : bytes_(bytes) {}

  uint64_t number(uint64_t at, int size) const {
    if (at > bytes_.size() || uint64_t(size) > bytes_.size() - at)  // at + size could wrap (zip64 offsets)
      throw std::runtime_error(to_text("the zip directory points past the end of the file (byte ", at, ")"));
    uint64_t value = 0;
    for (int i = size - 1; i >= 0; --i) value = value << 8 | uint8_t(bytes_[at + uint64_t(i)]);
    return value;
  }
  uint64_t size() const { return bytes_.size(); }
  const char* data(uint64_t at) const { return bytes_.data() + at; }

 private:
  const std::vector<char>& bytes_;
};

// The end-of-central-directory record's offset: in the last 22 bytes, or up to 64 KiB before.
uint64_t find_end_record(const ZipBytes& zip) {
  if (zip.size() < 22) throw std::runtime_error("too short for a zip archive");
  const uint64_t lowest = zip.size() > 22 + 0xffff ? zip.size() - 22 - 0xffff : 0;
  for (uint64_t at = zip.size() - 22;; --at) {
    if (zip.number(at, 4) == end_signature) return at;
    if (at == lowest) break;
  }
  throw std::runtime_error("no end-of-central-directory record");
}

struct Directory {
  uint64_t offset = 0, entries = 0;
};

Directory find_directory(const ZipBytes& zip) {
  const uint64_t end = find_end_record(zip);
  Directory directory{zip.number(end + 16, 4), zip.number(end + 10, 2)};
  if (directory.offset != 0xffffffff && directory.entries != 0xffff) return directory;
  if (end < 20 || zip.number(end - 20, 4) != zip64_locator_signature)
    throw std::runtime_error("a zip64 archive without its zip64 end-of-central-directory locator");
  const uint64_t record = zip.number(end - 20 + 8, 8);
  if (zip.number(record, 4) != zip64_end_signature)
    throw std::runtime_error("the zip64 end-of-central-directory record is missing");
  return Directory{zip.number(record + 48, 8), zip.number(record + 32, 8)};
}

struct Entry {
  std::string name;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, local_header = 0;
  uint64_t next = 0;  // the next central directory record
};

Entry read_entry(const ZipBytes& zip, uint64_t at) {
  if (zip.number(at, 4) != central_signature)
    throw std::runtime_error(to_text("the central directory is damaged at byte ", at));
  Entry entry;
  entry.method = uint16_t(zip.number(at + 10, 2));
  entry.crc = uint32_t(zip.number(at + 16, 4));
  entry.compressed = zip.number(at + 20, 4);
  uint64_t uncompressed = zip.number(at + 24, 4);
  const uint64_t name_length = zip.number(at + 28, 2), extra_length = zip.number(at + 30, 2),
                 comment_length = zip.number(at + 32, 2);
  entry.local_header = zip.number(at + 42, 4);
  zip.number(at + 46 + name_length + extra_length + comment_length - 1, 1);  // inside the file
  entry.name.assign(zip.data(at + 46), name_length);
  // Zip64: the sizes and offset that did not fit are in extra field 0x0001, in this order.
  for (uint64_t extra = at + 46 + name_length; extra + 4 <= at + 46 + name_length + extra_length;) {
    const uint64_t id = zip.number(extra, 2), length = zip.number(extra + 2, 2);
    if (id == 1) {
      uint64_t field = extra + 4;
      if (uncompressed == 0xffffffff) uncompressed = zip.number(field, 8), field += 8;
      if (entry.compressed == 0xffffffff) entry.compressed = zip.number(field, 8), field += 8;
      if (entry.local_header == 0xffffffff) entry.local_header = zip.number(field, 8);
    }
    extra += 4 + length;
  }
  if (entry.method == 0 && uncompressed != entry.compressed)
    throw std::runtime_error(to_text("entry '", entry.name, "' is stored with two different sizes"));
  entry.next = at + 46 + name_length + extra_length + comment_length;
  return entry;
}

uint32_t crc32_of(const char* data, uint64_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {  // zlib takes at most 4 GiB per call
    const uInt piece = uInt(std::min<uint64_t>(size, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), piece);
    data += piece;
    size -= piece;
  }
  return uint32_t(crc);
}

}  // namespace

void check_zip_entries(const std::vector<char>& bytes) {
  const ZipBytes zip(bytes);
  const Directory directory = find_directory(zip);
  uint64_t at = directory.offset;
  for (uint64_t index = 0; index < directory.entries; ++index) {
    const Entry entry = read_entry(zip, at);
    at = entry.next;
    if (entry.method != 0) continue;
    if (zip.number(entry.local_header, 4) != local_signature)
      throw std::runtime_error(
          to_text("entry '", entry.name, "' has no local header where the directory says"));
    const uint64_t data = entry.local_header + 30 + zip.number(entry.local_header + 26, 2) +
                          zip.number(entry.local_header + 28, 2);
    if (data > zip.size() || entry.compressed > zip.size() - data)
      throw std::runtime_error(to_text("entry '", entry.name, "' runs past the end of the file"));
    if (crc32_of(zip.data(data), entry.compressed) != entry.crc)
      throw std::runtime_error(to_text(
          "entry '", entry.name, "' fails its CRC-32 check: its bytes changed after the file was written"));
  }
}

}  // namespace atrous
