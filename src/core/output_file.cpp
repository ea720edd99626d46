#include "atrous/core/output_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "atrous/core/error.h"

namespace atrous {
namespace fs = std::filesystem;

namespace {

constexpr const char* temporary_marker = ".partial-";
constexpr size_t random_letters = 12;
constexpr size_t kept_name_bytes = 200;  // of the output's name, so that the temporary's fits NAME_MAX

std::string random_suffix() {
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[random_letters];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    std::random_device device;  // the same entropy where getrandom is missing
    for (unsigned char& byte : bytes) byte = static_cast<unsigned char>(device());
  }
  std::string suffix;
  for (unsigned char byte : bytes) suffix += alphabet[byte % (sizeof alphabet - 1)];
  return suffix;
}

std::string temporary_name(const std::string& path) {
  const fs::path target(path);
  const std::string name = target.filename().string().substr(0, kept_name_bytes);
  return (target.parent_path() / ("." + name + temporary_marker + random_suffix())).string();
}

bool is_temporary_name(const std::string& name) {
  const size_t marker = name.rfind(temporary_marker);
  if (name.empty() || name[0] != '.' || marker == std::string::npos) return false;
  const size_t begin = marker + std::strlen(temporary_marker);
  if (name.size() - begin != random_letters) return false;
  for (size_t i = begin; i < name.size(); ++i)
    if (!std::islower(static_cast<unsigned char>(name[i])) &&
        !std::isdigit(static_cast<unsigned char>(name[i])))
      return false;
  return true;
}

std::string folder_of(const std::string& path) {
  const std::string folder = fs::path(path).parent_path().string();
  return folder.empty() ? "." : folder;
}

void sync_folder(const std::string& path) {
  const int folder = ::open(folder_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder >= 0) {
    ::fsync(folder);
    ::close(folder);
  }
}

}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  for (int attempt = 0; attempt < 100 && descriptor_ < 0; ++attempt) {
    temporary_ = temporary_name(path_);
    descriptor_ = ::open(temporary_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (descriptor_ < 0 && errno != EEXIST && errno != EINTR) {
      const int error = errno;
      temporary_.clear();  // not ours: nothing to remove
      fail("creating the temporary file", error);
    }
    if (descriptor_ >= 0 && ::flock(descriptor_, LOCK_EX | LOCK_NB) != 0) {
      ::close(descriptor_);  // another process judges it abandoned and removes it: take another name
      descriptor_ = -1;
    }
  }
  if (descriptor_ < 0) {
    temporary_.clear();
    fail("finding a free temporary name", EEXIST);
  }
  struct stat status {};
  ::fstat(descriptor_, &status);
  device_ = status.st_dev, inode_ = status.st_ino;
}

OutputFile::OutputFile(std::string path, ForLibrary) : path_(std::move(path)) {
  struct stat status {};
  do temporary_ = temporary_name(path_);
  while (::lstat(temporary_.c_str(), &status) == 0);
}

OutputFile OutputFile::for_library(std::string path) {
  return OutputFile(std::move(path), ForLibrary{});
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)),
      temporary_(std::move(other.temporary_)),
      descriptor_(other.descriptor_),
      adopted_(other.adopted_),
      committed_(other.committed_),
      device_(other.device_),
      inode_(other.inode_) {
  other.descriptor_ = -1;
  other.committed_ = true;  // the moved-from object removes nothing
}

OutputFile::~OutputFile() {
  if (committed_) return;
  if (descriptor_ >= 0) ::close(descriptor_);
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
}

void OutputFile::fail(const char* what, int error) {
  if (descriptor_ >= 0) ::close(descriptor_);
  descriptor_ = -1;
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
  committed_ = true;  // nothing is left to remove
  throw UserError(to_text("cannot write '", path_, "': ", what, " failed (", std::strerror(error),
                          "); nothing was changed there. Check the space left and the permissions of '",
                          folder_of(path_), "'"),
                  ATROUS_HERE);
}

void OutputFile::write(std::string_view bytes) {
  ATROUS_ASSERT(descriptor_ >= 0 && !committed_, "write to ", path_, " without its own descriptor");
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(descriptor_, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("writing", n < 0 ? errno : ENOSPC);
    written += size_t(n);
  }
}

void OutputFile::adopt(int library_descriptor) {
  ATROUS_ASSERT(descriptor_ < 0 && !adopted_ && !committed_, "adopt of ", path_, " twice or after create");
  struct stat named {
  }, opened{};
  if (::lstat(temporary_.c_str(), &named) != 0 || ::fstat(library_descriptor, &opened) != 0 ||
      !S_ISREG(named.st_mode) || named.st_dev != opened.st_dev || named.st_ino != opened.st_ino)
    fail("creating the temporary file (it is not the library's new file)", EEXIST);
  if (::flock(library_descriptor, LOCK_EX | LOCK_NB) != 0) fail("locking the temporary file", errno);
  device_ = opened.st_dev, inode_ = opened.st_ino;
  adopted_ = true;
}

void OutputFile::commit() {
  ATROUS_ASSERT(!committed_ && (descriptor_ >= 0 || adopted_), "commit of ", path_, " twice or unadopted");
  if (descriptor_ < 0) {  // the library closed its descriptor, and with it the lock: take both again
    descriptor_ = ::open(temporary_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat status {};
    if (descriptor_ < 0 || ::fstat(descriptor_, &status) != 0 || status.st_dev != device_ ||
        status.st_ino != inode_)
      fail("reopening the temporary file", descriptor_ < 0 ? errno : EEXIST);
    if (::flock(descriptor_, LOCK_EX | LOCK_NB) != 0) fail("locking the temporary file", errno);
  }
  if (::fsync(descriptor_) != 0) fail("syncing", errno);
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) fail("renaming", errno);
  committed_ = true;
  ::close(descriptor_);  // the lock ends once the name is the output's
  descriptor_ = -1;
  sync_folder(path_);
}

int remove_abandoned_outputs(const std::string& folder, std::chrono::seconds unmodified_for) {
  const auto newest = std::chrono::system_clock::now() - unmodified_for;
  std::error_code error;
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string name = entry.path().filename().string(), path = entry.path().string();
    struct stat named {
    }, locked{};
    if (!is_temporary_name(name) || ::lstat(path.c_str(), &named) != 0 || !S_ISREG(named.st_mode) ||
        std::chrono::system_clock::from_time_t(named.st_mtime) > newest)
      continue;
    const int descriptor = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (descriptor < 0) continue;
    // Unlocked: its writer is gone. Remove the name only while it still is the file we locked.
    if (::flock(descriptor, LOCK_EX | LOCK_NB) == 0 && ::fstat(descriptor, &locked) == 0 &&
        ::lstat(path.c_str(), &named) == 0 && named.st_ino == locked.st_ino &&
        named.st_dev == locked.st_dev && ::unlink(path.c_str()) == 0)
      ++removed;
    ::close(descriptor);
  }
  return removed;
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  OutputFile output(path);
  output.write(bytes);
  output.commit();
}

int create_stream_file(const std::string& path, const std::string& advice) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) == 0 && !S_ISDIR(status.st_mode)) ::unlink(path.c_str());
  int descriptor = -1;
  do descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  while (descriptor < 0 && errno == EINTR);
  if (descriptor < 0)
    throw UserError(to_text("cannot create '", path, "': ", std::strerror(errno), "; ", advice), ATROUS_HERE);
  return descriptor;
}

}  // namespace atrous
