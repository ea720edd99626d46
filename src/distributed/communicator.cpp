#include "atrous/distributed/communicator.h"

#include <algorithm>
#include <chrono>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/distributed/collective_types.h"

namespace atrous::distributed {

void CommunicatorOptions::declare(OptionTable& table, CommunicatorOptions& options) {
  table.add("dist.stall_warning_s", &options.stall_warning_s, 60.0,
            "seconds a collective may wait before each waiting rank names the ranks that have not reached it "
            "(repeated at that interval until dist.timeout_s); 0 = never",
            "a number >= 0");
}

void CommunicatorOptions::validate() const {
  ATROUS_CHECK_OPTION(timeout_s > 0, "dist.timeout_s", timeout_s, "a number > 0");
  ATROUS_CHECK_OPTION(stall_warning_s >= 0, "dist.stall_warning_s", stall_warning_s, "a number >= 0");
}

WorkHandle Communicator::allreduce(at::Tensor tensor, ReduceOp op, CollectivePurpose purpose) {
  check_tensor(tensor, "allreduce", "tensor");
  ATROUS_ASSERT(op != ReduceOp::average || at::isFloatingType(tensor.scalar_type()),
                "allreduce(average) needs a floating tensor, not ", tensor.scalar_type());
  CollectiveLabel label = next_label("allreduce", tensor, purpose);
  label.op = op;
  const auto issued = std::chrono::steady_clock::now();
  return watched(do_allreduce(std::move(tensor), op, label), label, issued);
}

WorkHandle Communicator::broadcast(at::Tensor tensor, int root, CollectivePurpose purpose) {
  check_tensor(tensor, "broadcast", "tensor");
  ATROUS_ASSERT(root >= 0 && root < size(), "broadcast root ", root, " outside [0, ", size(), ")");
  CollectiveLabel label = next_label("broadcast", tensor, purpose);
  label.root = root;
  const auto issued = std::chrono::steady_clock::now();
  return watched(do_broadcast(std::move(tensor), root, label), label, issued);
}

WorkHandle Communicator::allgather(at::Tensor input, at::Tensor output, CollectivePurpose purpose) {
  check_tensor(input, "allgather", "input");
  check_tensor(output, "allgather", "output");
  ATROUS_ASSERT(output.scalar_type() == input.scalar_type(), "allgather: output dtype ", output.scalar_type(),
                " differs from input dtype ", input.scalar_type());
  ATROUS_ASSERT(output.device() == input.device(), "allgather: output on ", output.device().str(),
                ", input on ", input.device().str());
  ATROUS_ASSERT(output.numel() == input.numel() * size(), "allgather: output holds ", output.numel(),
                " elements, needs ", input.numel(), " x ", size());
  const CollectiveLabel label = next_label("allgather", input, purpose);
  const auto issued = std::chrono::steady_clock::now();
  return watched(do_allgather(std::move(input), std::move(output), label), label, issued);
}

WorkHandle Communicator::barrier(CollectivePurpose purpose) {
  const CollectiveLabel label = next_label("barrier", at::Tensor(), purpose);
  const auto issued = std::chrono::steady_clock::now();
  return watched(do_barrier(label), label, issued);
}

void Communicator::account_waits_in(std::shared_ptr<CollectiveWaits> waits) {
  waits_ = std::move(waits);
}

void Communicator::add_observer(std::shared_ptr<CollectiveObserver> observer) {
  ATROUS_ASSERT(observer != nullptr, "add_observer(nullptr)");
  observers_.push_back(std::move(observer));
}

namespace {

using Clock = std::chrono::steady_clock;

// A backend's Work whose wait() is timed into a CollectiveWaits and told to the observers.
class WatchedWork : public Work {
 public:
  WatchedWork(WorkHandle work, CollectiveLabel label, Clock::time_point issued,
              std::shared_ptr<CollectiveWaits> waits,
              std::vector<std::shared_ptr<CollectiveObserver>> observers)
      : work_(std::move(work)),
        label_(label),
        waits_(std::move(waits)),
        observers_(std::move(observers)),
        issued_(issued) {}

  void wait() override {
    const auto start = Clock::now();
    for (const auto& observer : observers_) observer->wait_started(label_);
    try {
      work_->wait();
    } catch (const Error& error) {
      account(start);
      std::string context;
      for (const auto& observer : observers_) context += observer->failure_context(label_);
      if (context.empty() || error.kind() != ErrorKind::user) throw;
      throw UserError(error.message() + context, error.where());
    } catch (...) {
      account(start);
      for (const auto& observer : observers_) observer->failure_context(label_);
      throw;
    }
    const auto end = Clock::now();
    account(start);
    if (observers_.empty()) return;
    const CollectiveTimes times{issued_, work_->completion_time().value_or(end), start, end};
    for (const auto& observer : observers_) observer->wait_ended(label_, times);
  }
  bool is_completed() override { return work_->is_completed(); }
  std::optional<Clock::time_point> completion_time() const override { return work_->completion_time(); }

 private:
  void account(Clock::time_point start) const {  // also when wait() throws: the time was spent
    if (waits_) waits_->add(label_.purpose, std::chrono::duration<double>(Clock::now() - start).count());
  }

  WorkHandle work_;
  CollectiveLabel label_;
  std::shared_ptr<CollectiveWaits> waits_;
  std::vector<std::shared_ptr<CollectiveObserver>> observers_;
  Clock::time_point issued_;
};

}  // namespace

WorkHandle Communicator::watched(WorkHandle work, const CollectiveLabel& label,
                                 std::chrono::steady_clock::time_point issued) const {
  if (!waits_ && observers_.empty()) return work;
  return std::make_shared<WatchedWork>(std::move(work), label, issued, waits_, observers_);
}

void Communicator::check_tensor(const at::Tensor& tensor, const char* collective, const char* role) const {
  ATROUS_ASSERT(tensor.defined(), collective, ": undefined ", role);
  ATROUS_ASSERT(tensor.is_contiguous(), collective, ": the ", role, " must be contiguous");
  const std::vector<c10::DeviceType> accepted = device_types();
  const bool device_taken =
      std::find(accepted.begin(), accepted.end(), tensor.device().type()) != accepted.end();
  ATROUS_ASSERT(device_taken, collective, ": a ", tensor.device().str(), " ", role, " given to the ",
                backend(), " communicator, which does not move tensors of that device type");
  ATROUS_ASSERT(is_collective_dtype(tensor.scalar_type()), collective, ": collectives do not move ", role,
                "s of ", tensor.scalar_type());
}

CollectiveLabel Communicator::next_label(const char* collective, const at::Tensor& tensor,
                                         CollectivePurpose purpose) {
  CollectiveLabel label;
  label.collective = collective;
  label.purpose = purpose;
  if (tensor.defined()) {
    label.count = tensor.numel();
    label.dtype = tensor.scalar_type();
  }
  label.sequence = next_sequence_.fetch_add(1, std::memory_order_relaxed);
  return label;
}

}  // namespace atrous::distributed
