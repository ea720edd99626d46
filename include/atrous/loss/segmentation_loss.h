#pragma once
// SegmentationLoss: TF DeepLab's per-scale softmax cross-entropy with top-k hard pixel mining.
//
// One loss entry per output of the multi-scale logits (model/scale_outputs.h: each scale and the
// merged logits), each with its ScaleOutput::loss_weight (1, or model.aux_loss_weight for "aux"),
// summed; entries report their unweighted values. For each entry, with v the weighted pixel losses
// (loss/pixel_losses.h):
//   top_k_percent_pixels = 1:  loss = sum(v) / max(1e-5, valid pixels)          (0 when none valid)
//   top_k_percent_pixels < 1:  k from loss/hard_example_mining.h, the k largest v kept
//                              (loss/top_k_selection.h), loss = their sum / how many are non-zero
//                              (0 when none is).
// Scope (loss.top_k_scope):
//   local   TF's semantics: each rank mines its own pixels; ranks' gradients are then averaged.
//   global  the k hardest pixels, and the valid-pixel count, of the WHOLE global batch. Each rank's
//           backward tensor is its share of the global loss times the number of ranks, so that
//           averaging gradients over ranks yields exactly the gradient of one process on the
//           concatenated batch. Costs a few small allreduces per step (4 histogram rounds and two
//           sums, for all entries at once), never a gather of pixel losses.

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "atrous/core/options.h"
#include "atrous/distributed/communicator.h"
#include "atrous/loss/pixel_losses.h"
#include "atrous/model/scale_outputs.h"

namespace atrous::loss {

enum class TopKScope { local, global };
const ChoiceValues<TopKScope>& top_k_scope_choices();  // local, global

struct LossOptions {
  bool upsample_logits = true;        // loss.upsample_logits
  std::string label_weights = "1";    // loss.label_weights: one weight, or one per class, comma-separated
  double top_k_percent_pixels = 1.0;  // loss.top_k_percent_pixels, in (0, 1]
  int hard_example_mining_step = 0;   // loss.hard_example_mining_step, >= 0
  TopKScope top_k_scope = TopKScope::local;  // loss.top_k_scope

  static void declare(OptionTable& table, LossOptions& options);
  // OptionError naming the option; label weights are checked against num_classes.
  void validate(int64_t num_classes) const;
};

struct LossEntry {
  std::string name;
  double value = 0;
};

// The loss's values on the host.
struct LossValues {
  // In local scope this rank's own (the trainer averages over ranks for its log), in global scope
  // that of the global batch, the same on every rank.
  double total = 0;
  std::vector<LossEntry> entries;  // one per output, same scope as total
};

// What one loss call reports, left on the logits' device: reading it back is a synchronisation
// with a GPU, which would keep the host from queueing backward while the GPU computes, so the
// trainer reads each step's reports once, after backward (read_losses).
struct LossReport {
  at::Tensor values;  // [2 + entries] float64: invalid labels (count, largest), each entry's value
  std::vector<std::string> names;    // each entry's output name
  std::vector<double> loss_weights;  // each entry's weight in total
  int64_t classes = 0;
  int64_t ignore_label = 0;

  // One device-to-host transfer; throws UserError naming a label that is neither a class index nor
  // the ignore label.
  LossValues read() const;
};

// Every report read back in one transfer, in order; throws as LossReport::read.
std::vector<LossValues> read_losses(const std::vector<LossReport>& reports);

struct LossResult {
  at::Tensor backward;  // scalar: what this rank calls backward() on
  LossReport report;
};

class SegmentationLoss {
 public:
  // Validates options against num_classes (OptionError naming the option). The communicator is used
  // in global scope only; it must outlive the loss.
  SegmentationLoss(const LossOptions& options, int64_t num_classes, int64_t ignore_label,
                   distributed::Communicator& comm);

  // labels: [B, H, W] of an integer type, on the logits' device; step: the global training step,
  // for the hard example mining schedule. In local scope nothing is read back by the host (the top
  // k by loss/top_k_selection.h's local_top_k_on_device); global scope is collective and reads
  // back the counts, histograms and sums that it allreduces.
  LossResult operator()(const model::ScaleOutputs& outputs, const at::Tensor& labels, int64_t step) const;

  const at::Tensor& class_weights() const { return class_weights_; }
  bool global_scope() const { return global_; }

 private:
  LossResult local_loss(const model::ScaleOutputs& outputs, const std::vector<PixelLosses>& pixels,
                        int64_t step) const;
  LossResult global_loss(const model::ScaleOutputs& outputs, const std::vector<PixelLosses>& pixels,
                         int64_t step) const;
  // Which pixels each entry keeps in global scope (a weight per pixel; undefined when all are
  // kept) and the divisor of each entry's sum. counts: per entry, pixels then valid pixels of the
  // global batch.
  struct Selection {
    std::vector<at::Tensor> kept;
    std::vector<double> divisors;
  };
  Selection global_selection(const std::vector<PixelLosses>& pixels, const std::vector<double>& counts,
                             int64_t step) const;
  LossReport report_of(const model::ScaleOutputs& outputs, const std::vector<PixelLosses>& pixels,
                       const at::Tensor& entry_values) const;

  LossOptions options_;
  int64_t num_classes_;
  int64_t ignore_label_;
  bool global_;
  at::Tensor class_weights_;  // [1] or [num_classes] float32
  // The class weights on the logits' device, copied there once (a copy at every call would make the
  // host wait for the GPU); the last device asked for.
  const at::Tensor& class_weights_on(c10::Device device) const;
  mutable at::Tensor device_class_weights_;
  distributed::Communicator& comm_;
};

// Parses loss.label_weights: "1", or num_classes comma-separated weights >= 0.
at::Tensor parse_label_weights(const std::string& text, int64_t num_classes);

}  // namespace atrous::loss
