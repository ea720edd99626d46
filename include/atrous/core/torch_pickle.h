#pragma once
// Reading the pickle of a torch.save file written by Python, where LibTorch's reader fails: LibTorch
// (1.13) unpickles collections.OrderedDict as None, so `torch.save(model.state_dict(), path)` (an
// OrderedDict, as are the weight files torchvision publishes) could not be read at all.
//
// read_python_pickle(zip): unpickles the archive's data.pkl (protocol 2, as torch.save writes it),
// taking each storage from the archive's data/<key> record:
//   - collections.OrderedDict() is a dict, and the state it is built with (a state dict's _metadata:
//     module versions) is dropped;
//   - torch._utils._rebuild_tensor_v2 and _rebuild_parameter are tensors on the CPU, of the storage's
//     type (FloatStorage, HalfStorage, BFloat16Storage, DoubleStorage, LongStorage, IntStorage,
//     ShortStorage, CharStorage, ByteStorage, BoolStorage, ComplexFloatStorage,
//     ComplexDoubleStorage), viewed with the file's offset, sizes and strides once they are checked
//     to lie inside the storage;
//   - dicts, lists, tuples, strings, integers, floats, booleans and None are what they are.
// Anything else - a pickled nn.Module (torch.save(model)), another class, an opcode torch.save does
// not write - throws std::runtime_error naming it, as does a storage whose record is missing or short,
// or a damaged pickle. The caller adds the file's name; core/torch_zip.h's read_torch_zip calls this
// when LibTorch's own reader fails on such a file. Not supported: the pre-1.6 (non-zip) format.

#include <ATen/core/ivalue.h>

#include <vector>

namespace atrous {

c10::IValue read_python_pickle(const std::vector<char>& zip);

}  // namespace atrous
