// Fuzz target: reading torch.save zips (core/torch_zip.h, core/zip_integrity.h) as the two readers of
// such files use them: model::read_state_dict (model.init_weights) and train::load_checkpoint.
//
// Input: the file's bytes (seeds: small torch.save files, state dicts and atrous checkpoints). Each
// input is read twice: as it is, and, when that differs, with the CRC-32 of every stored entry set to
// match its bytes, so that mutations get past the integrity check to LibTorch's unpickler and to what
// atrous makes of the unpickled value. Only a UserError may leave either reader, and every tensor they
// return must lie inside its storage.

#include <ATen/ATen.h>
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>

#include "atrous/model/weight_import.h"
#include "atrous/train/checkpoint.h"
#include "fuzz_support.h"

namespace {

// The number of `size` bytes at `at`; UINT64_MAX (more than any offset) when they are not all inside.
uint64_t little_endian(const std::string& bytes, uint64_t at, int size) {
  if (at > bytes.size() || uint64_t(size) > bytes.size() - at) return UINT64_MAX;
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = value << 8 | uint8_t(bytes[at + uint64_t(i)]);
  return value;
}

void set_little_endian(std::string& bytes, uint64_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + uint64_t(i)] = char(value >> (8 * i));
}

// `bytes` with the CRC-32 of each stored entry (in the central directory and the local header) set
// to that of the entry's bytes. Whatever does not parse is left as it is.
std::string with_matching_crcs(std::string bytes) {
  if (bytes.size() < 22) return bytes;
  uint64_t end = bytes.size() - 22;
  while (end > 0 && little_endian(bytes, end, 4) != 0x06054b50) --end;
  uint64_t at = little_endian(bytes, end + 16, 4);
  const uint64_t entries = little_endian(bytes, end + 10, 2);
  for (uint64_t i = 0; i < entries && little_endian(bytes, at, 4) == 0x02014b50; ++i) {
    const uint64_t method = little_endian(bytes, at + 10, 2), size = little_endian(bytes, at + 20, 4),
                   header = little_endian(bytes, at + 42, 4);
    const uint64_t names = little_endian(bytes, at + 28, 6);  // name, extra and comment lengths
    if (names == UINT64_MAX) break;
    const uint64_t next = at + 46 + (names & 0xffff) + (names >> 16 & 0xffff) + (names >> 32);
    if (method == 0 && little_endian(bytes, header, 4) == 0x04034b50 && header + 30 <= bytes.size()) {
      const uint64_t data =
          header + 30 + little_endian(bytes, header + 26, 2) + little_endian(bytes, header + 28, 2);
      if (data <= bytes.size() && size <= bytes.size() - data) {
        const uint32_t crc =
            uint32_t(crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(&bytes[data]), uInt(size)));
        set_little_endian(bytes, at + 16, crc);
        set_little_endian(bytes, header + 14, crc);
      }
    }
    at = next;
  }
  return bytes;
}

// A tensor whose sizes and strides reach past its storage would be read out of bounds by whoever
// copies it into a model.
void require_inside_storage(const at::Tensor& tensor, const char* what) {
  FUZZ_REQUIRE(what, tensor.defined() && tensor.layout() == at::kStrided && tensor.device().is_cpu());
  if (tensor.numel() == 0) return;
  FUZZ_REQUIRE(what, tensor.storage_offset() >= 0);
  __int128 last = tensor.storage_offset();  // the last element's index in the storage; no overflow
  for (int64_t d = 0; d < tensor.dim(); ++d) {
    FUZZ_REQUIRE(what, tensor.stride(d) >= 0);
    last += __int128(tensor.size(d) - 1) * tensor.stride(d);
  }
  if ((last + 1) * tensor.element_size() > __int128(tensor.storage().nbytes())) {
    std::ostringstream text;
    text << "sizes " << tensor.sizes() << ", strides " << tensor.strides() << ", offset "
         << tensor.storage_offset() << ", " << tensor.dtype() << " in a storage of "
         << tensor.storage().nbytes() << " bytes";
    atrous::fuzz::violated(what, ("a tensor inside its storage: " + text.str()).c_str(), __LINE__);
  }
}

void read_both_ways(const std::string& path) {
  atrous::fuzz::expect_only_user_errors("read_state_dict", [&] {
    for (const auto& [name, tensor] : atrous::model::read_state_dict(path))
      require_inside_storage(tensor, "read_state_dict");
  });
  atrous::fuzz::expect_only_user_errors("load_checkpoint", [&] {
    const atrous::train::CheckpointContents checkpoint = atrous::train::load_checkpoint(path);
    for (const auto& [section, values] : checkpoint.sections())
      for (const auto& [key, value] : values.values()) {
        if (const auto* tensor = std::get_if<at::Tensor>(&value))
          require_inside_storage(*tensor, "load_checkpoint");
        if (const auto* tensors = std::get_if<atrous::train::SectionValues::Tensors>(&value))
          for (const auto& [name, tensor] : *tensors) require_inside_storage(tensor, "load_checkpoint");
      }
  });
}

}  // namespace

// LibTorch 1.13 leaks its zip reader's state when the archive lacks what it needs (PyTorchStreamReader
// throws from its constructor after mz_zip_reader_init): not ours to fix, and under a kilobyte per
// refused file. Leaks of memory that LibTorch allocated are therefore not reported; leaks of what
// atrous and this target allocate still are.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libtorch_cpu.so\n";
}

// A damaged size makes LibTorch allocate gigabytes. Over 512 MB, malloc returns null, as it would when
// memory runs out (LibTorch's tensor allocator then throws); new is still reported where it is called,
// so that a large allocation is blamed on whoever made it (-malloc_limit_mb would do that too, but not
// with -detect_leaks=0).
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1:max_allocation_size_mb=512";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static atrous::fuzz::InputFile file(".pt");
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  read_both_ways(file.write(bytes));
  const std::string repaired = with_matching_crcs(bytes);
  if (repaired != bytes) read_both_ways(file.write(repaired));
  return 0;
}
