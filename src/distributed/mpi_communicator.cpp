#include "atrous/distributed/mpi_communicator.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <climits>
#include <functional>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/distributed/collective_types.h"
#include "atrous/distributed/mpi_check.h"

namespace atrous::distributed {
namespace {

constexpr int64_t max_count = INT_MAX / 2;  // elements per MPI call, well inside MPI's int count

const CommunicatorOptions& validated(const CommunicatorOptions& options) {
  options.validate();
  return options;
}

// Calls send(first element, count) over the tensor in pieces that fit MPI's int count.
template <class Send>
void in_pieces(const at::Tensor& tensor, Send send) {
  char* data = static_cast<char*>(tensor.data_ptr());
  const int64_t element = tensor.element_size();
  for (int64_t first = 0; first < tensor.numel(); first += max_count) {
    const int count = static_cast<int>(std::min(max_count, tensor.numel() - first));
    send(data + first * element, count);
  }
}

template <class Scalar>
void divide(Scalar* data, int64_t count, float divisor) {
  for (int64_t i = 0; i < count; ++i) data[i] = static_cast<Scalar>(static_cast<float>(data[i]) / divisor);
}

void divide(const at::Tensor& tensor, int divisor) {
  void* data = tensor.data_ptr();
  const int64_t count = tensor.numel();
  switch (tensor.scalar_type()) {
    case c10::ScalarType::Double: {
      auto* values = static_cast<double*>(data);
      for (int64_t i = 0; i < count; ++i) values[i] /= divisor;
      return;
    }
    case c10::ScalarType::Float:
      return divide(static_cast<float*>(data), count, divisor);
    case c10::ScalarType::Half:
      return divide(static_cast<c10::Half*>(data), count, divisor);
    case c10::ScalarType::BFloat16:
      return divide(static_cast<c10::BFloat16*>(data), count, divisor);
    default:
      throw InternalError(to_text("cannot average ", tensor.scalar_type()), ATROUS_HERE);
  }
}

using Requests = std::vector<MPI_Request>;

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm parent, const CommunicatorOptions& options, MpiProgress progress)
    : comm_(MpiComm::duplicate(parent)),
      rank_(comm_.rank()),
      size_(comm_.size()),
      timeout_s_(validated(options).timeout_s) {
  if (progress == MpiProgress::background_thread)
    queue_ = std::make_unique<WorkQueue>(timeout_s_);
  else
    caller_queue_ = std::make_unique<CallingThreadQueue>(timeout_s_);
}

// Each collective has its blocking form, run on the queue's thread, and its non-blocking form,
// started on the calling thread. Both go through in_pieces for the same counts.

WorkHandle MpiCommunicator::do_allreduce(at::Tensor tensor, ReduceOp op, const CollectiveLabel& label) {
  const MPI_Datatype type = mpi_datatype_of(tensor.scalar_type());
  const MPI_Op mpi_op = mpi_op_for(op, tensor.scalar_type());
  std::function<void()> finish;
  if (op == ReduceOp::average) finish = [tensor, size = size_] { divide(tensor, size); };
  if (queue_) {
    return queue_->submit(label, [comm = comm_.get(), tensor, type, mpi_op, finish] {
      in_pieces(tensor, [&](char* data, int count) {
        ATROUS_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data, count, type, mpi_op, comm));
      });
      if (finish) finish();
    });
  }
  return caller_queue_->submit(
      label,
      [comm = comm_.get(), tensor, type, mpi_op](Requests& requests) {
        in_pieces(tensor, [&](char* data, int count) {
          ATROUS_MPI_CHECK(
              MPI_Iallreduce(MPI_IN_PLACE, data, count, type, mpi_op, comm, &requests.emplace_back()));
        });
      },
      finish);
}

WorkHandle MpiCommunicator::do_broadcast(at::Tensor tensor, int root, const CollectiveLabel& label) {
  const MPI_Datatype type = mpi_datatype_of(tensor.scalar_type());
  if (queue_) {
    return queue_->submit(label, [comm = comm_.get(), tensor, type, root] {
      in_pieces(tensor,
                [&](char* data, int count) { ATROUS_MPI_CHECK(MPI_Bcast(data, count, type, root, comm)); });
    });
  }
  return caller_queue_->submit(
      label,
      [comm = comm_.get(), tensor, type, root](Requests& requests) {
        in_pieces(tensor, [&](char* data, int count) {
          ATROUS_MPI_CHECK(MPI_Ibcast(data, count, type, root, comm, &requests.emplace_back()));
        });
      },
      nullptr);
}

WorkHandle MpiCommunicator::do_allgather(at::Tensor input, at::Tensor output, const CollectiveLabel& label) {
  ATROUS_ASSERT(output.numel() <= INT_MAX, "allgather of more than INT_MAX elements");
  const MPI_Datatype type = mpi_datatype_of(input.scalar_type());
  const int count = static_cast<int>(input.numel());
  if (queue_) {
    return queue_->submit(label, [comm = comm_.get(), input, output, type, count] {
      ATROUS_MPI_CHECK(MPI_Allgather(input.data_ptr(), count, type, output.data_ptr(), count, type, comm));
    });
  }
  return caller_queue_->submit(
      label,
      [comm = comm_.get(), input, output, type, count](Requests& requests) {
        ATROUS_MPI_CHECK(MPI_Iallgather(input.data_ptr(), count, type, output.data_ptr(), count, type, comm,
                                        &requests.emplace_back()));
      },
      nullptr);
}

WorkHandle MpiCommunicator::do_barrier(const CollectiveLabel& label) {
  if (queue_) return queue_->submit(label, [comm = comm_.get()] { ATROUS_MPI_CHECK(MPI_Barrier(comm)); });
  return caller_queue_->submit(
      label,
      [comm = comm_.get()](Requests& requests) {
        ATROUS_MPI_CHECK(MPI_Ibarrier(comm, &requests.emplace_back()));
      },
      nullptr);
}

}  // namespace atrous::distributed
