#include "atrous/core/error.h"

#include <cstdio>

#include "atrous/core/rank_label.h"

namespace atrous {
namespace {

std::string full_text(const std::string& message, SourceLocation where) {
  return rank_label().text() + " " + message + " (at " + where.file + ":" + std::to_string(where.line) + ")";
}

}  // namespace

Error::Error(ErrorKind kind, std::string message, SourceLocation where)
    : std::runtime_error(full_text(message, where)),
      kind_(kind),
      message_(std::move(message)),
      where_(where) {}

LibraryError::LibraryError(std::string library, std::string call, std::string library_message,
                           SourceLocation where)
    : Error(ErrorKind::library, library + " call " + call + " failed: " + library_message, where),
      library_(std::move(library)),
      call_(std::move(call)),
      library_message_(std::move(library_message)) {}

void print_error(const std::string& text) {
  std::string line = "atrous: error: " + text + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);  // one write, so ranks' lines do not interleave
  std::fflush(stderr);
}

}  // namespace atrous
