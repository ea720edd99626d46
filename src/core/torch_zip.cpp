#include "atrous/core/torch_zip.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/core/torch_pickle.h"
#include "atrous/core/zip_integrity.h"

namespace atrous {
namespace {

// Throws unless every element of `tensor` lies inside its storage. LibTorch (1.13) gives an unpickled
// tensor whatever offset, sizes and strides the file holds, even past the end of the storage it read
// for it; copying such a tensor into a model would read out of bounds.
void check_inside_storage(const at::Tensor& tensor) {
  if (!tensor.defined()) return;
  if (tensor.layout() != at::kStrided || !tensor.has_storage())
    throw std::runtime_error("it holds a tensor that is not a dense tensor");
  if (tensor.numel() == 0) return;
  const int64_t offset = tensor.storage_offset();
  bool fits = offset >= 0 && offset < INT64_MAX;
  int64_t end = fits ? offset + 1 : 0;  // one past the last element's index in the storage
  for (int64_t d = 0; fits && d < tensor.dim(); ++d) {
    int64_t reach = 0;
    fits = tensor.size(d) > 0 && tensor.stride(d) >= 0 &&
           !__builtin_mul_overflow(tensor.size(d) - 1, tensor.stride(d), &reach) &&
           !__builtin_add_overflow(end, reach, &end);
  }
  int64_t bytes = 0;
  if (!fits || __builtin_mul_overflow(end, int64_t(tensor.element_size()), &bytes) ||
      uint64_t(bytes) > tensor.storage().nbytes())
    throw std::runtime_error(to_text(
        "it holds a tensor of sizes ", tensor.sizes(), " and strides ", tensor.strides(), " at offset ",
        tensor.storage_offset(), " that reaches past its storage of ", tensor.storage().nbytes(), " bytes"));
}

// check_inside_storage for every tensor in `root`, through dicts, lists and tuples: each container once
// (a pickle can share them, or make one hold itself), and without recursion (it can nest them deeply).
void check_tensors(const c10::IValue& root) {
  std::vector<c10::IValue> pending{root};
  std::unordered_set<const void*> seen;
  while (!pending.empty()) {
    const c10::IValue value = std::move(pending.back());
    pending.pop_back();
    if (value.isTensor()) check_inside_storage(value.toTensor());
    if (!value.isGenericDict() && !value.isList() && !value.isTuple()) continue;
    if (!seen.insert(value.internalToPointer()).second) continue;
    if (value.isGenericDict()) {
      for (const auto& entry : value.toGenericDict())
        pending.push_back(entry.key()), pending.push_back(entry.value());
    } else if (value.isList()) {
      for (const c10::IValue& element : value.toListRef()) pending.push_back(element);
    } else {
      for (const c10::IValue& element : value.toTupleRef().elements()) pending.push_back(element);
    }
  }
}

// Python's torch.save pickles every tensor with a collections.OrderedDict (its hooks); LibTorch's
// writer marks its pickles with torch.jit._pickle. torch.save stores entries uncompressed, so both
// names appear in the file's bytes as they are.
bool written_by_python(const std::vector<char>& bytes) {
  const auto contains = [&](const std::string& text) {
    return std::search(bytes.begin(), bytes.end(), text.begin(), text.end()) != bytes.end();
  };
  return contains("ccollections\nOrderedDict\n") && !contains("torch.jit._pickle");
}

}  // namespace

c10::IValue read_torch_zip(const std::vector<char>& bytes) {
  static const char local_header[] = {'P', 'K', 3, 4};
  static const char end_record[] = {'P', 'K', 5, 6};
  constexpr size_t end_record_size = 22, longest_comment = 0xffff;
  // Before PyTorch 1.6, torch.save wrote a bare pickle stream (protocol 2 starts with 0x80 0x02).
  if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x80 && bytes[1] == 2)
    throw std::runtime_error(
        "a torch.save file of the format before PyTorch 1.6 (a bare pickle, not a zip archive), which is "
        "not read; load it in Python and save it again with torch.save (PyTorch 1.6 or later writes zip)");
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
  c10::IValue value;
  try {
    value = torch::jit::pickle_load(bytes);
  } catch (const std::exception&) {
    if (!written_by_python(bytes)) throw;
    value = read_python_pickle(bytes);  // an OrderedDict, which LibTorch's reader cannot take
  }
  check_tensors(value);
  return value;
}

}  // namespace atrous
