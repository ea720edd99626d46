#pragma once
// Reading torch.save files (the zip format that torch.save and atrous checkpoints use).
//
// read_torch_zip checks that the bytes are a whole zip archive (a local file header at the start,
// the end-of-central-directory record near the end) before LibTorch unpickles them, so that a file
// of another kind or a cut-off copy is reported as such, in the same words on every LibTorch
// version, rather than by whatever LibTorch's reader makes of it, and that every entry still has the
// CRC-32 it was written with (core/zip_integrity.h), so changed bytes are named, not unpickled. A file
// that LibTorch's reader fails on and that Python's torch.save wrote (a state dict is an OrderedDict,
// which LibTorch 1.13 unpickles as None) is read by core/torch_pickle.h instead. After
// unpickling, every tensor in the value (through dicts, lists and tuples) must be a dense tensor whose
// elements lie inside its storage: LibTorch takes a tensor's offset, sizes and strides from the file
// as they are. Throws std::runtime_error saying what is wrong; the caller adds the file's name and what
// to do.

#include <ATen/core/ivalue.h>

#include <vector>

namespace atrous {

c10::IValue read_torch_zip(const std::vector<char>& bytes);

}  // namespace atrous
