#include "atrous/distributed/mpi_check.h"

namespace atrous::distributed {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return to_text("MPI error code ", code);
  int error_class = 0;
  std::string class_text;
  if (MPI_Error_class(code, &error_class) == MPI_SUCCESS && error_class != code) {
    char class_name[MPI_MAX_ERROR_STRING] = {};
    int class_length = 0;
    if (MPI_Error_string(error_class, class_name, &class_length) == MPI_SUCCESS)
      class_text = to_text(" (class: ", std::string(class_name, class_length), ")");
  }
  return std::string(text, length) + class_text;
}

void throw_mpi_error(int code, const char* call, SourceLocation where) {
  throw LibraryError("MPI", call, mpi_error_text(code), where);
}

}  // namespace atrous::distributed
