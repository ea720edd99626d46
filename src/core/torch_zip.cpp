#include "atrous/core/torch_zip.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "atrous/core/zip_integrity.h"

namespace atrous {

c10::IValue read_torch_zip(const std::vector<char>& bytes) {
  static const char local_header[] = {'P', 'K', 3, 4};
  static const char end_record[] = {'P', 'K', 5, 6};
  constexpr size_t end_record_size = 22, longest_comment = 0xffff;
  if (bytes.size() < end_record_size || std::memcmp(bytes.data(), local_header, 4) != 0)
    throw std::runtime_error("not a zip archive, the format of torch.save");
  // The end-of-central-directory record: in the last 22 bytes, or up to 64 KiB before with a comment.
  const size_t search_from = bytes.size() - std::min(bytes.size(), end_record_size + longest_comment);
  const auto last = bytes.end() - static_cast<std::ptrdiff_t>(end_record_size) + 4;
  const auto found = std::find_end(bytes.begin() + static_cast<std::ptrdiff_t>(search_from), last,
                                   std::begin(end_record), std::end(end_record));
  if (found == last)
    throw std::runtime_error("the zip archive is truncated (no end-of-central-directory record)");
  check_zip_entries(bytes);
  return torch::jit::pickle_load(bytes);
}

}  // namespace atrous
