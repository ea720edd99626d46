#pragma once
// OutputFile: the one way atrous writes a whole output file (checkpoints and `latest`, config.ini,
// the rewritten metrics.jsonl, target.json, eval.out, masks, logits, packs, the merged timeline, the
// stall records), so that a planted link can never make it write anywhere else, a crash or a full
// disk never leaves half a file at the output's path, and no other process's work is deleted.
//
// - The bytes go to a temporary file in the output's folder named ".<name>.partial-<12 random
//   letters and digits>" (the system's entropy; <name> cut to 200 bytes). It is created with
//   O_CREAT | O_EXCL | O_NOFOLLOW, so it is always a new file of ours: never a link's target, never
//   an existing file, whoever can write the folder.
// - It is locked (flock, exclusive) for the writer's whole life: the lock, not a process id, says
//   that its writer is alive, on this host or any other sharing the folder.
// - commit() fsyncs it, renames it over the output (a link at the output's path is replaced, not
//   followed) and fsyncs the folder: until then the output keeps its old content or stays absent.
//   Destroyed without commit(), the writer removes its temporary. Every failure (cannot create,
//   ENOSPC, EFBIG, fsync, rename) is a UserError naming the output, the system's reason and what to
//   check; the output is left as it was.
//
// Libraries that create their files by name (HDF5) use OutputFile::for_library(path): it picks the
// unused random name and creates nothing; the library must create it exclusively (HDF5's
// H5F_ACC_EXCL is O_CREAT | O_EXCL) and adopt() then checks that the name is a regular file and the
// library's descriptor's file, and locks it. data/hdf5_output.h does this for HDF5.
//
// remove_abandoned_outputs(folder, unmodified_for): removes the temporaries in `folder` whose lock
// nobody holds and that were not modified for `unmodified_for` (the short spans in which a live
// writer holds no lock: between creating and locking, between a library's close and commit());
// returns how many. A live writer's temporary is never removed. Under a lock that excludes every
// other writer of the folder (the run directory's), pass zero.
//
// write_file_atomically(path, bytes) writes a string through an OutputFile.
//
// create_stream_file(path, advice): for a file that grows while a job runs and is read as it grows
// (a timeline part): whatever is at `path` (an old part, a planted link) is removed, and a new file
// is created exclusively (O_CREAT | O_EXCL | O_NOFOLLOW), so the writes never reach another file.
// Returns its descriptor; a UserError naming the path, the reason and `advice` when it cannot.
// (TensorBoard's event files are new names created exclusively; metrics.jsonl, appended under the
// run directory's lock, is opened with O_NOFOLLOW: train/run_directory.h.)

#include <chrono>
#include <string>
#include <string_view>

namespace atrous {

class OutputFile {
 public:
  explicit OutputFile(std::string path);
  static OutputFile for_library(std::string path);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile();

  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temporary_; }
  // The temporary's descriptor (for writers that take one: fdopen of a dup); -1 for a library's file.
  int descriptor() const { return descriptor_; }

  void write(std::string_view bytes);
  // for_library only: `library_descriptor` is the library's descriptor of the file it created.
  void adopt(int library_descriptor);
  void commit();

 private:
  struct ForLibrary {};
  OutputFile(std::string path, ForLibrary);
  [[noreturn]] void fail(const char* what, int error);

  std::string path_, temporary_;
  int descriptor_ = -1;
  bool adopted_ = false, committed_ = false;
  unsigned long long device_ = 0, inode_ = 0;
};

int remove_abandoned_outputs(const std::string& folder, std::chrono::seconds unmodified_for);

void write_file_atomically(const std::string& path, const std::string& bytes);

int create_stream_file(const std::string& path, const std::string& advice);

}  // namespace atrous
