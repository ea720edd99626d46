#include "atrous/distributed/collective_label.h"

#include <cstring>

#include "atrous/distributed/collective_types.h"

namespace atrous::distributed {

std::string CollectiveLabel::text() const {
  std::string what = collective;
  if (std::strcmp(collective, "allreduce") == 0) what += to_text("(", reduce_op_name(op), ")");
  if (dtype != at::ScalarType::Undefined) {
    const char* dtype_name = is_collective_dtype(dtype) ? collective_dtype_name(dtype) : c10::toString(dtype);
    what += to_text(" of ", count, " ", dtype_name);
    if (std::strcmp(collective, "allgather") == 0) what += " per rank";
  }
  if (root >= 0) what += to_text(" from rank ", root);
  if (purpose != CollectivePurpose::other) what += to_text(" for ", collective_purpose_name(purpose));
  return to_text("collective #", sequence, " (", what, ")");
}

UserError collective_timeout_error(const CollectiveLabel& label, double timeout_s,
                                   const std::string& consequence, SourceLocation where) {
  return UserError(
      to_text(label.text(), " did not complete within dist.timeout_s = ", timeout_s,
              " s: a rank died or hangs, or the ranks issued collectives in different orders; ", consequence),
      where);
}

}  // namespace atrous::distributed
