#pragma once
// One TensorBoard event file: a run's scalars and images, appended as TFRecord-framed Events
// (observe/tf_event.h), readable by TensorBoard and by tests/observe/read_events.py.
//
// The constructor creates the directory if it is missing and then a new file
//   <directory>/events.out.tfevents.<unix seconds, 10 digits>.<hostname>
// exclusively (O_EXCL): if that name is taken (two writers started in the same second), ".1", ".2",
// ... is appended to it, so an existing file is never overwritten nor appended to. The first record,
// the file_version event, is on disk when the constructor returns.
//
// add() encodes one Event stamped with the current wall time and keeps it in memory; flush() writes
// every kept record and fsyncs the file, so once it returns a reader sees only complete records. The
// fsync has a cost: flush at log intervals, not every step. The destructor flushes too, and reports a
// failure on standard error instead of throwing. Scalars that are NaN or infinite are written as they
// are (TensorBoard shows them as such).
//
// Every I/O failure is a UserError that names the file and the system's reason. Not thread-safe: the
// writer has one owner, which adds and flushes; it can be neither copied nor moved.

#include <cstdint>
#include <string>
#include <vector>

#include "atrous/observe/tf_event.h"

namespace atrous::observe {

class EventFileWriter {
 public:
  // hostname: the file name's last part; '/' in it becomes '_', and an empty one "unknown-host".
  EventFileWriter(const std::string& directory, const std::string& hostname);
  ~EventFileWriter();

  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  // One Event at step holding the scalars, then the images (each image's height and width positive,
  // its colorspace 1, 3 or 4, its png not empty). Kept in memory until flush().
  void add(int64_t step, const std::vector<ScalarValue>& scalars, const std::vector<ImageValue>& images = {});
  // Buffers a SessionLog START at `step` (tf_event.h): readers drop what earlier files logged for
  // steps >= step. A run writes it first, at its first step to come (1 + the resumed step).
  void add_session_start(int64_t step);

  // Writes the records add() kept and fsyncs the file. After a failure, the records not yet written
  // are kept, and a later flush() tries them again.
  void flush();

  // The event file's path.
  const std::string& path() const { return path_; }

 private:
  void open_new_file(const std::string& directory, const std::string& hostname, int64_t unix_seconds);

  std::string path_;
  int descriptor_ = -1;
  std::string pending_;    // encoded records not written yet
  bool unsynced_ = false;  // written since the last fsync
};

}  // namespace atrous::observe
