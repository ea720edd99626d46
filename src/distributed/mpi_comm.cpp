#include "atrous/distributed/mpi_comm.h"

#include <exception>
#include <utility>

#include "atrous/distributed/blocking_deadline.h"
#include "atrous/distributed/mpi_check.h"

namespace atrous::distributed {

MpiComm::MpiComm(MPI_Comm comm) : comm_(comm) {
  ATROUS_ASSERT(comm != MPI_COMM_WORLD && comm != MPI_COMM_SELF,
                "MpiComm must not own MPI_COMM_WORLD or MPI_COMM_SELF");
}

MpiComm::~MpiComm() {
  release();
}

MpiComm::MpiComm(MpiComm&& other) noexcept : comm_(std::exchange(other.comm_, MPI_COMM_NULL)) {}

MpiComm& MpiComm::operator=(MpiComm&& other) noexcept {
  if (this != &other) {
    release();
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
  }
  return *this;
}

void MpiComm::release() {
  if (comm_ == MPI_COMM_NULL) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && std::uncaught_exceptions() == 0) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
}

MpiComm MpiComm::duplicate(MPI_Comm comm) {
  MPI_Comm copy = MPI_COMM_NULL;
  const ScopedBlockingCall deadline("duplicating an MPI communicator (MPI_Comm_dup)");
  ATROUS_MPI_CHECK(MPI_Comm_dup(comm, &copy));
  return MpiComm(copy);
}

MpiComm MpiComm::split_by_node(MPI_Comm comm) {
  int rank = 0;
  ATROUS_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  MPI_Comm node = MPI_COMM_NULL;
  const ScopedBlockingCall deadline("grouping the ranks by node (MPI_Comm_split_type)");
  ATROUS_MPI_CHECK(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
  return MpiComm(node);
}

int MpiComm::rank() const {
  int rank = 0;
  ATROUS_MPI_CHECK(MPI_Comm_rank(comm_, &rank));
  return rank;
}

int MpiComm::size() const {
  int size = 0;
  ATROUS_MPI_CHECK(MPI_Comm_size(comm_, &size));
  return size;
}

}  // namespace atrous::distributed
