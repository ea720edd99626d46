#include "atrous/train/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "atrous/core/error.h"
#include "atrous/core/output_file.h"

namespace atrous::train {

RunDirectory::RunDirectory(const std::string& path) : path_(path) {
  std::error_code error;
  fresh_ = !std::filesystem::exists(path, error);
  std::filesystem::create_directories(path + "/checkpoints", error);
  if (error)
    throw UserError(
        to_text("cannot create run directory '", path, "': ", error.message(), "; check train.run_dir"),
        ATROUS_HERE);
  const std::string lock = path + "/.lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    throw UserError(to_text("cannot open '", lock, "': ", std::strerror(errno),
                            errno == ELOOP ? " (it is a link; remove it)" : ""),
                    ATROUS_HERE);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw UserError(to_text("run directory '", path, "' is in use by another training job (", lock,
                            " is locked); wait for it to end or choose another train.run_dir"),
                    ATROUS_HERE);
  }
  // What an interrupted write of an earlier job left: the lock is ours, so no writer there is alive.
  remove_abandoned_outputs(path, std::chrono::seconds(0));
  remove_abandoned_outputs(path + "/checkpoints", std::chrono::seconds(0));
  if (std::filesystem::is_directory(path + "/configs", error))
    remove_abandoned_outputs(path + "/configs", std::chrono::seconds(0));
  open_metrics();
}

RunDirectory::~RunDirectory() {
  if (metrics_fd_ >= 0) ::close(metrics_fd_);
  if (fresh_ && !started_) {  // a start that failed leaves no run behind; remove() spares what is not empty
    std::error_code ignored;
    if (std::filesystem::file_size(path_ + "/metrics.jsonl", ignored) == 0)
      std::filesystem::remove(path_ + "/metrics.jsonl", ignored);
    std::filesystem::remove(path_ + "/checkpoints", ignored);
    std::filesystem::remove(path_ + "/.lock", ignored);
    std::filesystem::remove(path_, ignored);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void RunDirectory::open_metrics() {
  const std::string file = path_ + "/metrics.jsonl";
  metrics_fd_ = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  struct stat status {};
  if (metrics_fd_ >= 0 && ::fstat(metrics_fd_, &status) == 0 && S_ISREG(status.st_mode)) return;
  const int error = metrics_fd_ < 0 ? errno : 0;
  if (metrics_fd_ >= 0) ::close(metrics_fd_);
  metrics_fd_ = -1;
  throw UserError(to_text("cannot write '", file, "': ",
                          error == ELOOP ? "it is a link; remove it"
                          : error != 0   ? std::strerror(error)
                                         : "it is not a regular file; remove it"),
                  ATROUS_HERE);
}

void RunDirectory::write_config(const std::string& ini, int64_t start_step) {
  started_ = true;
  std::error_code error;
  std::filesystem::create_directories(path_ + "/configs", error);
  if (error)
    throw UserError(
        to_text("cannot create '", path_, "/configs': ", error.message(), "; check train.run_dir"),
        ATROUS_HERE);
  write_file_atomically(to_text(path_, "/configs/step-", start_step, ".ini"), ini);
  write_file_atomically(path_ + "/config.ini", ini);
}

void RunDirectory::append_metrics(const std::string& json_line) {
  const std::string line = json_line + '\n';
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(metrics_fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw UserError(to_text("cannot append to '", path_, "/metrics.jsonl': ",
                              std::strerror(n < 0 ? errno : ENOSPC), "; check the space left there"),
                      ATROUS_HERE);
    written += size_t(n);
  }
}

std::optional<int64_t> step_record_step(const std::string& line) {
  size_t at = 0;
  const auto skip_space = [&] {
    while (at < line.size() && std::isspace(static_cast<unsigned char>(line[at]))) ++at;
  };
  const auto take = [&](const std::string& token) {
    skip_space();
    if (line.compare(at, token.size(), token) != 0) return false;
    at += token.size();
    return true;
  };
  if (!take("{") || !take("\"step\"") || !take(":")) return std::nullopt;
  skip_space();
  const size_t digits_begin = at + (at < line.size() && line[at] == '-' ? 1 : 0);
  size_t digits_end = digits_begin;
  while (digits_end < line.size() && std::isdigit(static_cast<unsigned char>(line[digits_end]))) ++digits_end;
  if (digits_end == digits_begin || digits_end - digits_begin > 18) return std::nullopt;  // none, or huge
  const int64_t value = std::strtoll(line.c_str() + at, nullptr, 10);
  at = digits_end;
  skip_space();
  if (at >= line.size() || (line[at] != ',' && line[at] != '}')) return std::nullopt;  // 12.5, 12e3, 12x
  return value;
}

void RunDirectory::truncate_metrics_after(int64_t step) {
  const std::string target = path_ + "/metrics.jsonl";
  std::string kept;
  {
    std::ifstream in(target);
    std::string line;
    while (std::getline(in, line)) {
      const std::optional<int64_t> record_step = step_record_step(line);
      if (record_step && *record_step > step) continue;
      kept += line + '\n';
    }
  }
  ::close(metrics_fd_);
  metrics_fd_ = -1;
  write_file_atomically(target, kept);  // on failure the file keeps every line it had
  open_metrics();
}

}  // namespace atrous::train
