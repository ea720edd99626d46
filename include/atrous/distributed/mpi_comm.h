#pragma once
// MpiComm: the one owner of an MPI communicator; frees it when destroyed. Non-copyable, movable.
//
// Freeing is skipped once MPI has been finalised (nothing left to free) and while the process is
// unwinding from an error (another rank may be blocked; the top-level handler aborts the job).

#include <mpi.h>

namespace atrous::distributed {

class MpiComm {
 public:
  MpiComm() = default;
  // Takes ownership of `comm` (not of MPI_COMM_WORLD or MPI_COMM_SELF, which cannot be freed).
  explicit MpiComm(MPI_Comm comm);
  ~MpiComm();

  MpiComm(const MpiComm&) = delete;
  MpiComm& operator=(const MpiComm&) = delete;
  MpiComm(MpiComm&& other) noexcept;
  MpiComm& operator=(MpiComm&& other) noexcept;

  // MPI_Comm_dup(comm); the duplicate keeps comm's error handler.
  static MpiComm duplicate(MPI_Comm comm);
  // MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, key=rank): the ranks that share this node.
  static MpiComm split_by_node(MPI_Comm comm);

  MPI_Comm get() const { return comm_; }
  int rank() const;
  int size() const;

 private:
  void release();
  MPI_Comm comm_ = MPI_COMM_NULL;
};

}  // namespace atrous::distributed
