#pragma once
// What a training step tells the world: the agreement every rank reaches after the step, and rank 0's
// progress line and metrics.jsonl record.
//
// agree_on_step (collective): ONE allreduce of [loss total, loss entries, a non-finite flag per
// rank, the preemption flag]. Losses come back averaged over ranks (in global top-k scope they
// are already the global batch's, the same on every rank), and every rank learns which ranks had a
// non-finite loss and whether any rank was asked to stop.
//
// TrainingReport (rank 0): every log step, one progress line
//   step 120/2000  loss 0.8312 (merged 0.8312)  lr 0.00652  23.1 img/s  data 2%  comm 6%  eta 4m05s
// and one JSON object in metrics.jsonl:
//   {"step": 120, "epoch": 3, "loss": 0.8312, "losses": {"merged": 0.8312}, "lr": 0.00652,
//    "images_per_s": 23.1, "step_seconds": 0.35, "data_wait": 0.02, "exposed_comm": 0.06}
// Rates and fractions are averages over the steps since the previous log step.

#include <string>
#include <vector>

#include "atrous/distributed/communicator.h"
#include "atrous/loss/segmentation_loss.h"

namespace atrous {
class Logger;
}

namespace atrous::train {

class RunDirectory;

struct StepTimes {
  double step = 0;          // seconds of the whole step
  double data_wait = 0;     // of which waiting for the loader
  double exposed_comm = 0;  // of which waiting for gradient communication after backward
};

struct StepAgreement {
  double total = 0;
  std::vector<loss::LossEntry> entries;
  std::vector<int> nonfinite_ranks;
  std::string entries_text;  // "merged nan, scale_1 0.52"
  bool preempted = false;
};

StepAgreement agree_on_step(distributed::Communicator& comm, double total,
                            const std::vector<loss::LossEntry>& entries, bool global_scope, bool preempt);

struct StepRecord {
  int64_t step = 0;  // steps done
  int64_t epoch = 0;
  double loss = 0;
  std::vector<loss::LossEntry> entries;
  double lr = 0;
  int64_t global_images = 0;  // images per step over all ranks
  StepTimes times;
};

class TrainingReport {
 public:
  TrainingReport(RunDirectory& run_dir, Logger& log, int64_t total_steps);
  // Accounts the step; with log_now also prints and records it.
  void step(const StepRecord& record, bool log_now);
  // Records an evaluation inside training: {"step": N, "eval": <json>} and a log line.
  void evaluation(int64_t step, const std::string& json);

 private:
  RunDirectory& run_dir_;
  Logger& log_;
  int64_t total_steps_;
  StepTimes interval_;
  int64_t interval_steps_ = 0;
  int64_t interval_images_ = 0;
  double seconds_per_step_ = 0;  // smoothed, for the ETA
};

}  // namespace atrous::train
