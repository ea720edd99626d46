// core/torch_pickle.h on the pickle torch.save writes for a state dict (an OrderedDict with its
// _metadata, bytes as Python 3 with torch 1.13 wrote them), and on pickles it must refuse by name.

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "atrous/core/torch_pickle.h"
#include "atrous/core/torch_zip.h"

namespace atrous {
namespace {

// The bytes of a string literal, NULs included.
template <size_t N>
std::string bytes(const char (&text)[N]) {
  return std::string(text, N - 1);
}

// torch.save(OrderedDict(w=torch.arange(4.).view(2, 2))) with _metadata {"": {"version": 1}}.
const std::string state_dict_pickle = bytes(
    "\x80\x02"
    "ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00wq\x02"
    "ctorch._utils\n"
    "_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04"
    "ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x00"
    "0q\x06X\x03\x00\x00\x00"
    "cpuq\x07K\x04tq\x08QK\x00K\x02K\x02\x86q\tK\x02K\x01\x86q\n\x89h\x00)Rq\x0b"
    "tq\x0cRq\rs}q\x0eX\t\x00\x00\x00_metadataq\x0fh\x00)Rq\x10X\x00\x00\x00\x00q\x11}q\x12X\x07\x00\x00\x00"
    "versionq\x13K\x01sssb.");

// A torch.save archive holding `pickle` as data.pkl and the floats 0, 1, 2, 3 as storage 0.
std::vector<char> archive(const std::string& pickle) {
  std::vector<char> bytes;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    bytes.insert(bytes.end(), static_cast<const char*>(data), static_cast<const char*>(data) + size);
    return size;
  });
  const float storage[4] = {0, 1, 2, 3};
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("data/0", storage, sizeof storage);
  writer.writeEndOfFile();
  return bytes;
}

std::string refusal(const std::string& pickle) {
  try {
    read_python_pickle(archive(pickle));
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "no error";
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

TEST(TorchPickle, AnOrderedDictStateDictIsADictOfItsTensors) {
  ASSERT_EQ(state_dict_pickle.size(), 224u);
  const c10::IValue value = read_python_pickle(archive(state_dict_pickle));
  ASSERT_TRUE(value.isGenericDict());
  const auto dict = value.toGenericDict();
  ASSERT_EQ(dict.size(), 1u) << "the _metadata is dropped";
  const at::Tensor w = dict.at("w").toTensor();
  EXPECT_TRUE(at::equal(w, at::arange(4, at::kFloat).view({2, 2})));
  // read_torch_zip gives LibTorch's reader the file first, and this reader when that fails.
  EXPECT_TRUE(at::equal(read_torch_zip(archive(state_dict_pickle)).toGenericDict().at("w").toTensor(), w));
}

TEST(TorchPickle, WhatIsNotTensorsInDictsIsRefusedByName) {
  // The tensor's offset moved by one: its last element would be element 4 of a storage of 4.
  EXPECT_NE(
      refusal(replaced(state_dict_pickle, bytes("QK\x00"), bytes("QK\x01"))).find("reach past its storage"),
      std::string::npos);
  EXPECT_NE(refusal(replaced(state_dict_pickle, "ctorch._utils\n_rebuild_tensor_v2\n", "cos\nsystem\n"))
                .find("an object of os.system, not tensors in dicts"),
            std::string::npos);
  EXPECT_NE(refusal(bytes("\x80\x02"
                          "ctorch.nn.modules.conv\nConv2d\nq\x00)\x81q\x01."))
                .find("an object of torch.nn.modules.conv.Conv2d, not tensors in dicts (torch.save(model)"),
            std::string::npos);
  EXPECT_NE(refusal(bytes("\x80\x02}q\x00X\x01\x00\x00\x00"
                          "ah\x00s."))
                .find("a dict that holds itself"),
            std::string::npos);
  EXPECT_NE(refusal("\x80\x02I1\n.").find("pickle opcode 0x49"), std::string::npos);
  EXPECT_NE(refusal(state_dict_pickle.substr(0, 100)).find("ends"), std::string::npos);
  EXPECT_NE(refusal(replaced(state_dict_pickle, "FloatStorage", "QuintStorage")).find("torch.QuintStorage"),
            std::string::npos);
}

// Before PyTorch 1.6, torch.save wrote the pickle bare (magic number, protocol, then the data): named
// as that format, with what to do, not as "not a zip archive".
TEST(TorchPickle, ThePreZipFormatIsNamedWithWhatToDo) {
  const std::string legacy = bytes("\x80\x02\x8a\x0al\xfc\x9c" "F\xf9 j\xa8P\x19.");
  const std::vector<char> file(legacy.begin(), legacy.end());
  try {
    read_torch_zip(file);
    ADD_FAILURE() << "read";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("the format before PyTorch 1.6"), std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("save it again with torch.save"), std::string::npos);
  }
}

}  // namespace
}  // namespace atrous
