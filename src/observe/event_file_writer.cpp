#include "atrous/observe/event_file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>

#include "atrous/core/error.h"

namespace atrous::observe {
namespace {

constexpr int max_name_attempts = 1000;
constexpr const char* what_to_do = "check that the run directory is writable and has space";

double wall_time_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string safe_host_name(const std::string& hostname) {
  if (hostname.empty()) return "unknown-host";
  std::string safe = hostname;
  for (char& c : safe)
    if (c == '/' || c == '\0') c = '_';
  return safe;
}

// "events.out.tfevents.<seconds>.<host>" for attempt 0, with ".<attempt>" appended after that.
std::string event_file_name(int64_t unix_seconds, const std::string& hostname, int attempt) {
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%010lld", static_cast<long long>(unix_seconds));
  std::string name = "events.out.tfevents." + std::string(seconds) + "." + safe_host_name(hostname);
  if (attempt > 0) name += "." + std::to_string(attempt);
  return name;
}

UserError io_error(const char* doing, const std::string& path, int error_number, SourceLocation where) {
  return UserError(to_text("cannot ", doing, " the TensorBoard event file ", path, ": ",
                           std::strerror(error_number), "; ", what_to_do),
                   where);
}

}  // namespace

EventFileWriter::EventFileWriter(const std::string& directory, const std::string& hostname) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error)
    throw UserError(to_text("cannot create the TensorBoard event directory ", directory, ": ",
                            error.message(), "; ", what_to_do),
                    ATROUS_HERE);
  const double now = wall_time_now();
  open_new_file(directory, hostname, static_cast<int64_t>(std::floor(now)));
  pending_ = tfrecord(encode_file_version_event(now));
  try {
    flush();
  } catch (...) {
    ::close(descriptor_);
    throw;
  }
}

void EventFileWriter::open_new_file(const std::string& directory, const std::string& hostname,
                                    int64_t unix_seconds) {
  for (int attempt = 0; attempt < max_name_attempts; ++attempt) {
    path_ = (std::filesystem::path(directory) / event_file_name(unix_seconds, hostname, attempt)).string();
    do {
      descriptor_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    } while (descriptor_ < 0 && errno == EINTR);
    if (descriptor_ >= 0) return;
    if (errno != EEXIST) throw io_error("create", path_, errno, ATROUS_HERE);
  }
  throw UserError(to_text("cannot create a TensorBoard event file in ", directory, ": the names up to ",
                          path_, " are all taken; remove stale event files or use another run directory"),
                  ATROUS_HERE);
}

EventFileWriter::~EventFileWriter() {
  try {
    flush();
  } catch (const std::exception& error) {
    print_error(to_text(error.what(), "; the event records not yet written are lost"));
  }
  ::close(descriptor_);
}

void EventFileWriter::add(int64_t step, const std::vector<ScalarValue>& scalars,
                          const std::vector<ImageValue>& images) {
  for (const ImageValue& image : images) {
    ATROUS_ASSERT(image.height > 0 && image.width > 0 && !image.png.empty(), "image ", image.tag, " is ",
                  image.height, "x", image.width, " with ", image.png.size(), " PNG bytes");
    ATROUS_ASSERT(image.colorspace == colorspace_grey || image.colorspace == colorspace_rgb ||
                      image.colorspace == colorspace_rgba,
                  "image ", image.tag, " has colorspace ", image.colorspace);
  }
  pending_ += tfrecord(encode_summary_event(wall_time_now(), step, scalars, images));
}

void EventFileWriter::add_session_start(int64_t step) {
  pending_ += tfrecord(encode_session_start_event(wall_time_now(), step));
}

void EventFileWriter::flush() {
  size_t written = 0;
  while (written < pending_.size()) {
    ssize_t count = ::write(descriptor_, pending_.data() + written, pending_.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      const int error_number = errno;
      pending_.erase(0, written);  // a later flush() goes on from the first byte not written
      throw io_error("write", path_, error_number, ATROUS_HERE);
    }
    written += static_cast<size_t>(count);
    unsynced_ = true;
  }
  pending_.clear();
  if (!unsynced_) return;
  int result = 0;
  do {
    result = ::fsync(descriptor_);
  } while (result != 0 && errno == EINTR);
  // EINVAL: a file system without fsync; the records are written and visible to readers all the same.
  if (result != 0 && errno != EINVAL) throw io_error("sync", path_, errno, ATROUS_HERE);
  unsynced_ = false;
}

}  // namespace atrous::observe
