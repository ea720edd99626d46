#pragma once
// A test's scratch files: read_text() reads one whole ("" when it cannot be read), remove_tree()
// removes a scratch folder without std::filesystem::remove_all: pip's CUDA LibTorch 2.x
// exports its own copy of that function from libtorch.so, which the dynamic linker binds to and
// which crashes (a call through a null pointer), so the tests walk the tree with nftw instead.

#include <ftw.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace atrous::test_support {

inline std::string read_text(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

inline void remove_tree(const std::string& path) {
  nftw(
      path.c_str(),
      [](const char* entry, const struct stat*, int, struct FTW*) { return std::remove(entry); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

}  // namespace atrous::test_support
