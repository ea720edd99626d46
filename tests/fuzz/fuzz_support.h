#pragma once
// What the fuzz targets share: the input as a file, and the rule for what a parser may throw.
//
// InputFile holds the bytes in a temporary file in /dev/shm (memory; $TMPDIR or /tmp where there is
// none), rewritten for each input: the parsers open files by path, and HDF5 refuses the
// /proc/self/fd/N path of a memfd. The file is named after the process and removed when it ends, or
// by the next target that starts when it crashed. expect_only_user_errors runs a parser: refusing its input
// with a UserError (OptionError included) is what it should do; any other exception is a bug, printed and
// turned into an abort so that libFuzzer keeps the input. FUZZ_REQUIRE checks what a parser
// promises about what it returns. With ATROUS_FUZZ_VERBOSE=1 in the environment, each refusal is
// printed (`fuzz_x -runs=0 seeds/x` then shows which seeds a parser accepts).

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <typeinfo>

#include "atrous/core/error.h"

namespace atrous::fuzz {

class InputFile {
 public:
  explicit InputFile(const std::string& suffix) {
    const char* tmp = std::getenv("TMPDIR");
    const std::string folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp != nullptr ? tmp : "/tmp";
    remove_files_of_ended_processes(folder);
    std::string pattern = folder + "/" + prefix + std::to_string(getpid()) + "-XXXXXX" + suffix;
    fd_ = mkstemps(pattern.data(), int(suffix.size()));
    if (fd_ < 0) fail("mkstemps");
    path_ = pattern;
  }
  ~InputFile() {
    close(fd_);
    unlink(path_.c_str());
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Replaces the file's contents with `size` bytes at `data`; returns its path.
  const std::string& write(const void* data, size_t size) {
    if (ftruncate(fd_, 0) != 0) fail("ftruncate");
    const char* bytes = static_cast<const char*>(data);
    for (size_t done = 0; done < size;) {
      const ssize_t written = pwrite(fd_, bytes + done, size - done, off_t(done));
      if (written <= 0) fail("pwrite");
      done += size_t(written);
    }
    return path_;
  }
  const std::string& write(const std::string& text) { return write(text.data(), text.size()); }

 private:
  static constexpr const char* prefix = "atrous-fuzz-";

  // A process that crashes or times out never removes its file: the next one does.
  static void remove_files_of_ended_processes(const std::string& folder) {
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) != 0) continue;
      const long pid = std::strtol(name.c_str() + std::strlen(prefix), nullptr, 10);
      if (pid > 0 && kill(pid_t(pid), 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), error);
    }
  }

  [[noreturn]] static void fail(const char* call) {
    std::perror(call);
    std::abort();
  }

  int fd_ = -1;
  std::string path_;
};

[[noreturn]] inline void violated(const char* what, const char* condition, int line) {
  std::fprintf(stderr, "fuzz: %s: broken promise at line %d: %s\n", what, line, condition);
  std::abort();
}

#define FUZZ_REQUIRE(what, cond)                                    \
  do {                                                              \
    if (!(cond)) ::atrous::fuzz::violated((what), #cond, __LINE__); \
  } while (false)

// Runs parse(); returns true when it returned, false when it threw a UserError; aborts on anything else.
template <class Parse>
bool expect_only_user_errors(const char* what, Parse&& parse) {
  try {
    parse();
    return true;
  } catch (const UserError& error) {
    static const bool verbose = std::getenv("ATROUS_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "fuzz: %s refused the input: %s\n", what, error.what());
    return false;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "fuzz: %s let %s escape: %s\n", what, typeid(error).name(), error.what());
  } catch (...) {
    std::fprintf(stderr, "fuzz: %s let a non-std exception escape\n", what);
  }
  std::abort();
}

}  // namespace atrous::fuzz
