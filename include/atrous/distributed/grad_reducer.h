#pragma once
// GradReducer: averages gradients over every rank, overlapping communication with backward.
//
// Construction (local, no communication): gradients are grouped into buckets
// (distributed/bucket_plan.h: reverse registration order, the first up to 1 MiB or dist.bucket_mb
// if smaller, then dist.bucket_mb each), and a post-hook is put on each parameter's gradient
// accumulator, which the reducer keeps alive. The replicas must already be identical on every rank:
// call replicate_from_root() (distributed/model_replication.h) first.
// Each synchronising backward: when the accumulator of a parameter has run, its gradient is copied
// into its bucket (converted to dist.allreduce_dtype); when a bucket is complete, it and every
// complete bucket before it are handed to the communicator (buckets start in the same order on every
// rank), so allreduce runs while backward continues. finish_step() then sends what is left (a
// parameter that got no gradient counts as zero), waits, and writes the averages back into each
// parameter's grad() in float32. With float32 on the wire each grad() becomes a view of its bucket
// (DDP's gradient_as_bucket_view): while gradients are zeroed in place between steps, backward
// accumulates straight into the buckets and neither copy happens. A gradient lies in its bucket in
// its parameter's layout, as the parameter was at construction (a channels-last weight gets a
// channels-last gradient: autograd's layout contract), so change layouts (model/memory_format.h)
// before constructing the reducer. Parameters that got no gradient
// in one step are counted in at the start of the next backward, so they do not hold their buckets
// back (DDP's unused parameters); a parameter that changes from unused to used after its bucket was
// sent is a UserError.
// Gradient accumulation (DDP's no_sync): set_synchronize(false) before the backward passes that
// should only accumulate locally, true before the last one of the step.

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "atrous/core/options.h"
#include "atrous/distributed/communicator.h"
#include "atrous/distributed/named_tensor.h"

namespace atrous::distributed {

// The names of dist.allreduce_dtype: float32, float16, bfloat16.
const ChoiceValues<at::ScalarType>& allreduce_dtype_choices();

struct ReducerOptions {
  double bucket_mb = 25;                        // dist.bucket_mb
  at::ScalarType allreduce_dtype = at::kFloat;  // dist.allreduce_dtype: gradients on the wire

  static void declare(OptionTable& table, ReducerOptions& options);
  void validate() const;
};

class GradReducer {
 public:
  static constexpr int64_t first_bucket_bytes = 1 << 20;

  // parameters: those that train (requires_grad), in registration order. Validates options. The
  // communicator must outlive the reducer.
  GradReducer(std::vector<NamedTensor> parameters, Communicator& comm, const ReducerOptions& options);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Whether the next backward passes communicate (default) or only accumulate locally.
  void set_synchronize(bool synchronize);

  // After the synchronising backward: completes every bucket, waits, writes the averaged
  // gradients. Returns the seconds it waited for communication (exposed communication).
  double finish_step();

  // How many buckets the current backward has handed to the communicator so far.
  int64_t buckets_started() const;

  // Parameter indices per bucket, in launch order.
  std::vector<std::vector<int64_t>> bucket_layout() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace atrous::distributed
