#pragma once
// RunDirectory: rank 0's hold on RUN_DIR for the life of a training job.
//
// Creates the folder, takes an exclusive lock on RUN_DIR/.lock (flock: released by the kernel when
// the process ends, even by kill -9), so a second job on the same folder stops with a clear error
// instead of interleaving checkpoints. Then removes the temporaries that an interrupted write of an
// earlier job left in RUN_DIR and RUN_DIR/checkpoints (core/output_file.h; the lock excludes every
// other writer). Writes RUN_DIR/config.ini (the effective configuration of the latest start, ready
// for --config) and RUN_DIR/configs/step-<N>.ini (that of the segment that started at step N: the
// history of what each segment ran with) through an OutputFile, and appends one JSON object per line
// to RUN_DIR/metrics.jsonl, written at once. A start that fails before write_config in a folder that
// did not exist removes what it created (an empty metrics.jsonl, checkpoints/, .lock, the folder), so
// a mistyped pack path leaves no run directory behind. Neither the lock file
// nor metrics.jsonl is opened through a link: a link planted there is refused, naming it. A write
// that fails is a UserError naming the file.

#include <cstdint>
#include <optional>
#include <string>

namespace atrous::train {

// The step of a metrics.jsonl line that is a step record: a JSON object whose first member is
// "step" with an integer value, as every line atrous writes there is ({"step": 12, ...}). Any other
// line (a note a user added, an object that mentions "step" only inside another member, text that
// is not JSON) is none, and is kept by truncate_metrics_after whatever it contains.
std::optional<int64_t> step_record_step(const std::string& line);

class RunDirectory {
 public:
  // UserError when the folder cannot be created or another job holds it.
  explicit RunDirectory(const std::string& path);
  ~RunDirectory();
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  const std::string& path() const { return path_; }
  // The run starts training at `start_step` with configuration `ini`.
  void write_config(const std::string& ini, int64_t start_step);
  void append_metrics(const std::string& json_line);
  // At every start: drops the step records (step_record_step) of steps after `step`, the step the
  // run starts from (its checkpoint's, or 0 when none was found), which the run logs again.
  // The file is rewritten atomically: when that fails (a full disk) it keeps every line.
  void truncate_metrics_after(int64_t step);

 private:
  void open_metrics();

  std::string path_;
  int lock_fd_ = -1, metrics_fd_ = -1;
  bool fresh_ = false;    // the folder did not exist before this job
  bool started_ = false;  // write_config was called
};

}  // namespace atrous::train
