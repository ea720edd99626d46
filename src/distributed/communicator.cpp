#include "atrous/distributed/communicator.h"

#include <algorithm>
#include <chrono>

#include "atrous/core/error.h"
#include "atrous/core/options.h"
#include "atrous/distributed/collective_types.h"

namespace atrous::distributed {

void CommunicatorOptions::declare(OptionTable& table, CommunicatorOptions& options) {
  table.add("dist.timeout_s", &options.timeout_s, 600.0,
            "seconds a collective may take before the job is stopped with an error naming it",
            "a number > 0");
}

void CommunicatorOptions::validate() const {
  ATROUS_CHECK_OPTION(timeout_s > 0, "dist.timeout_s", timeout_s, "a number > 0");
}

WorkHandle Communicator::allreduce(at::Tensor tensor, ReduceOp op, CollectivePurpose purpose) {
  check_tensor(tensor, "allreduce", "tensor");
  ATROUS_ASSERT(op != ReduceOp::average || at::isFloatingType(tensor.scalar_type()),
                "allreduce(average) needs a floating tensor, not ", tensor.scalar_type());
  CollectiveLabel label = next_label("allreduce", tensor, purpose);
  label.op = op;
  return accounted(do_allreduce(std::move(tensor), op, label), purpose);
}

WorkHandle Communicator::broadcast(at::Tensor tensor, int root, CollectivePurpose purpose) {
  check_tensor(tensor, "broadcast", "tensor");
  ATROUS_ASSERT(root >= 0 && root < size(), "broadcast root ", root, " outside [0, ", size(), ")");
  CollectiveLabel label = next_label("broadcast", tensor, purpose);
  label.root = root;
  return accounted(do_broadcast(std::move(tensor), root, label), purpose);
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
  return accounted(do_allgather(std::move(input), std::move(output), label), purpose);
}

WorkHandle Communicator::barrier(CollectivePurpose purpose) {
  return accounted(do_barrier(next_label("barrier", at::Tensor(), purpose)), purpose);
}

void Communicator::account_waits_in(std::shared_ptr<CollectiveWaits> waits) {
  waits_ = std::move(waits);
}

namespace {

// A backend's Work whose wait() is timed into a CollectiveWaits.
class AccountedWork : public Work {
 public:
  AccountedWork(WorkHandle work, std::shared_ptr<CollectiveWaits> waits, CollectivePurpose purpose)
      : work_(std::move(work)), waits_(std::move(waits)), purpose_(purpose) {}

  void wait() override {
    const auto start = std::chrono::steady_clock::now();
    struct Record {  // also when wait() throws: the time was spent
      AccountedWork& self;
      std::chrono::steady_clock::time_point start;
      ~Record() {
        self.waits_->add(self.purpose_,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    } record{*this, start};
    work_->wait();
  }
  bool is_completed() override { return work_->is_completed(); }

 private:
  WorkHandle work_;
  std::shared_ptr<CollectiveWaits> waits_;
  CollectivePurpose purpose_;
};

}  // namespace

WorkHandle Communicator::accounted(WorkHandle work, CollectivePurpose purpose) const {
  if (!waits_) return work;
  return std::make_shared<AccountedWork>(std::move(work), waits_, purpose);
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
