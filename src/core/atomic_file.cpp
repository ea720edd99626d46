#include "atrous/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "atrous/core/error.h"

namespace atrous {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& partial, const char* what, int error) {
  ::unlink(partial.c_str());
  throw UserError(to_text("cannot write '", path, "': ", what, " failed (", std::strerror(error),
                          "); nothing was changed there. Check the space left and the permissions of '",
                          fs::path(path).parent_path().string(), "'"),
                  ATROUS_HERE);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string partial = path + ".partial";
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, partial, "creating the temporary file", errno);
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : ENOSPC;
      ::close(fd);
      fail(path, partial, "writing", error);
    }
    written += size_t(n);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    fail(path, partial, "syncing", error);
  }
  if (::close(fd) != 0) fail(path, partial, "closing", errno);
  if (::rename(partial.c_str(), path.c_str()) != 0) fail(path, partial, "renaming", errno);
  const std::string folder = fs::path(path).parent_path().string();
  const int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

int remove_partial_files(const std::string& folder) {
  std::error_code error;
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(folder, error))
    if (entry.is_regular_file(error) && entry.path().extension() == ".partial" &&
        fs::remove(entry.path(), error))
      ++removed;
  return removed;
}

}  // namespace atrous
