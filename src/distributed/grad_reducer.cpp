#include "atrous/distributed/grad_reducer.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>
#include <mutex>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/core/tensor_layout.h"
#include "atrous/distributed/bucket_plan.h"

namespace atrous::distributed {

const ChoiceValues<at::ScalarType>& allreduce_dtype_choices() {
  static const ChoiceValues<at::ScalarType> choices{
      {"float32", at::kFloat}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16}};
  return choices;
}

void ReducerOptions::declare(OptionTable& table, ReducerOptions& options) {
  table.add("dist.bucket_mb", &options.bucket_mb, 25.0,
            "gradient bucket size in MiB: each full bucket's allreduce starts during backward",
            "a number > 0");
  table.add_choice("dist.allreduce_dtype", &options.allreduce_dtype, at::kFloat,
                   "dtype of gradients on the wire (restored to float32)", allreduce_dtype_choices());
}

void ReducerOptions::validate() const {
  ATROUS_CHECK_OPTION(bucket_mb > 0, "dist.bucket_mb", bucket_mb, "a number > 0");
  choice_name(allreduce_dtype_choices(), allreduce_dtype);  // InternalError for a dtype outside them
}

namespace {

// The strides a parameter's gradient gets: the parameter's own when it is dense (autograd's layout
// contract: AccumulateGrad then adds into it in place, whatever the memory format), otherwise
// row-major.
std::vector<int64_t> gradient_strides(const at::Tensor& parameter) {
  if (parameter.is_non_overlapping_and_dense()) return parameter.strides().vec();
  std::vector<int64_t> strides(parameter.dim(), 1);
  for (int64_t d = parameter.dim() - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * std::max<int64_t>(1, parameter.size(d + 1));
  return strides;
}

}  // namespace

struct GradReducer::State {
  // Where a parameter's gradient lies in its bucket: numel elements from offset, in the parameter's
  // own layout (strides), so that a channels-last weight's gradient is a channels-last view.
  struct Slot {
    int64_t bucket = 0, offset = 0, numel = 0;
    std::vector<int64_t> sizes, strides;
  };
  struct Bucket {
    std::vector<int64_t> parameters;
    at::Tensor flat;
    int64_t pending = 0;
    WorkHandle work;
  };

  explicit State(Communicator& comm) : comm(comm) {}

  Communicator& comm;
  std::vector<NamedTensor> parameters;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  std::vector<bool> ready;   // its gradient is in its bucket
  std::vector<bool> fired;   // its hook ran in this backward
  std::vector<bool> unused;  // it got no gradient in the previous step
  bool backward_started = false;
  size_t next_launch = 0;
  bool synchronize = true;
  std::mutex mutex;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> hook_keys;

  // Parameter i's place in its bucket, shaped and strided like the parameter.
  at::Tensor bucket_view(int64_t i) const {
    const Slot& slot = slots[i];
    return buckets[slot.bucket].flat.narrow(0, slot.offset, slot.numel).as_strided(slot.sizes, slot.strides);
  }

  // Copies parameter i's gradient into its bucket (the zeros when it has none).
  void take_gradient(int64_t i) {
    ready[i] = true;
    at::Tensor destination = bucket_view(i);
    const at::Tensor& gradient = parameters[i].tensor.grad();
    if (!gradient.defined())
      destination.zero_();
    else if (gradient.data_ptr() != destination.data_ptr())  // not already the bucket's view
      destination.copy_(gradient);
    if (--buckets[slots[i].bucket].pending == 0) launch_complete_buckets();
  }

  // Buckets start strictly in order, so every rank issues the same collectives in the same order.
  void launch_complete_buckets() {
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
      Bucket& bucket = buckets[next_launch++];
      bucket.work = comm.allreduce(bucket.flat, ReduceOp::average, CollectivePurpose::gradients);
    }
  }

  void on_gradient_ready(int64_t i) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!synchronize) return;
    if (!backward_started) {
      // Parameters that got no gradient last step will not get one now either: count them in at
      // once, or their buckets, and every bucket after them, would wait until finish_step().
      backward_started = true;
      for (size_t p = 0; p < unused.size(); ++p)
        if (unused[p]) take_gradient(static_cast<int64_t>(p));
    }
    fired[i] = true;
    if (!ready[i]) return take_gradient(i);
    const Slot& slot = slots[i];
    ATROUS_CHECK(
        buckets[slot.bucket].work == nullptr, parameters[i].name,
        " got a gradient although it got none in the previous step, and its "
        "bucket was already sent; the set of parameters the model uses must not change between steps");
    bucket_view(i).copy_(parameters[i].tensor.grad());
  }

  // Tells the state that parameter `index` has its gradient; does nothing once the state is gone.
  class ReadyHook : public torch::autograd::FunctionPostHook {
   public:
    ReadyHook(std::weak_ptr<State> state, int64_t index) : state_(std::move(state)), index_(index) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                              const torch::autograd::variable_list&) override {
      if (auto state = state_.lock()) state->on_gradient_ready(index_);
      return outputs;
    }

   private:
    std::weak_ptr<State> state_;
    int64_t index_;
  };

  void reset() {
    for (size_t i = 0; i < unused.size(); ++i) unused[i] = !fired[i];
    std::fill(ready.begin(), ready.end(), false);
    std::fill(fired.begin(), fired.end(), false);
    backward_started = false;
    for (auto& bucket : buckets)
      bucket.pending = static_cast<int64_t>(bucket.parameters.size()), bucket.work.reset();
    next_launch = 0;
  }
};

GradReducer::GradReducer(std::vector<NamedTensor> parameters, Communicator& comm,
                         const ReducerOptions& options)
    : state_(std::make_shared<State>(comm)) {
  options.validate();
  for (const auto& parameter : parameters)
    ATROUS_ASSERT(parameter.tensor.requires_grad(), parameter.name, " does not require a gradient");

  const at::ScalarType wire = options.allreduce_dtype;
  const int64_t element = c10::elementSize(wire);
  std::vector<int64_t> bytes;
  for (const auto& parameter : parameters) bytes.push_back(parameter.tensor.numel() * element);
  const auto bucket_bytes = std::max<int64_t>(1, static_cast<int64_t>(options.bucket_mb * (1 << 20)));
  const auto layout = plan_buckets(bytes, std::min(first_bucket_bytes, bucket_bytes), bucket_bytes);

  State& state = *state_;
  state.parameters = std::move(parameters);
  state.slots.resize(state.parameters.size());
  state.ready.assign(state.parameters.size(), false);
  state.fired.assign(state.parameters.size(), false);
  state.unused.assign(state.parameters.size(), false);
  for (size_t b = 0; b < layout.size(); ++b) {
    State::Bucket bucket;
    bucket.parameters = layout[b];
    int64_t offset = 0;
    for (int64_t i : layout[b]) {
      const at::Tensor& tensor = state.parameters[i].tensor;
      state.slots[i] = {static_cast<int64_t>(b), offset, tensor.numel(), tensor.sizes().vec(),
                        gradient_strides(tensor)};
      offset += tensor.numel();
    }
    bucket.flat = at::zeros({offset}, state.parameters[layout[b].front()].tensor.options().dtype(wire));
    bucket.pending = static_cast<int64_t>(layout[b].size());
    state.buckets.push_back(std::move(bucket));
  }
  for (size_t i = 0; i < state.parameters.size(); ++i) {
    auto accumulator = torch::autograd::impl::grad_accumulator(state.parameters[i].tensor);
    state.hook_keys.push_back(
        accumulator->add_post_hook(std::make_unique<State::ReadyHook>(state_, static_cast<int64_t>(i))));
    state.accumulators.push_back(std::move(accumulator));  // the hook lives as long as its accumulator
  }
}

GradReducer::~GradReducer() {
  for (size_t i = 0; i < state_->accumulators.size(); ++i)
    state_->accumulators[i]->del_post_hook(state_->hook_keys[i]);
}

void GradReducer::set_synchronize(bool synchronize) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->synchronize = synchronize;
}

double GradReducer::finish_step() {
  State& state = *state_;
  std::lock_guard<std::mutex> lock(state.mutex);
  ATROUS_ASSERT(state.synchronize,
                "finish_step() after a backward that did not synchronise; call set_synchronize(true) before "
                "the last backward of the step");
  for (size_t b = state.next_launch; b < state.buckets.size(); ++b)
    for (int64_t i : state.buckets[b].parameters)
      if (!state.ready[i]) state.take_gradient(i);  // unused this step: its gradient so far, or zero

  const auto start = std::chrono::steady_clock::now();
  for (auto& bucket : state.buckets) bucket.work->wait();
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  for (size_t i = 0; i < state.parameters.size(); ++i) {
    const at::Tensor averaged = state.bucket_view(static_cast<int64_t>(i));
    at::Tensor& parameter = state.parameters[i].tensor;
    if (averaged.scalar_type() == parameter.scalar_type()) {
      // The gradient becomes a view of its bucket: the next backward accumulates straight into the
      // bucket (as long as gradients are zeroed in place, not reset), and no copy is needed either way.
      if (!parameter.grad().defined() || parameter.grad().data_ptr() != averaged.data_ptr())
        parameter.mutable_grad() = averaged;
    } else {
      if (!parameter.grad().defined() || !same_layout(parameter.grad(), averaged))
        parameter.mutable_grad() = at::empty_like(parameter);
      parameter.mutable_grad().copy_(averaged);
    }
  }
  state.reset();
  return waited;
}

int64_t GradReducer::buckets_started() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return static_cast<int64_t>(state_->next_launch);
}

std::vector<std::vector<int64_t>> GradReducer::bucket_layout() const {
  std::vector<std::vector<int64_t>> layout;
  for (const auto& bucket : state_->buckets) layout.push_back(bucket.parameters);
  return layout;
}

}  // namespace atrous::distributed
