#pragma once
// The errors atrous throws, and the check macros that throw them.
//
// Three kinds, kept apart so that every message says who can fix it:
//   UserError      bad input the user can correct: an option, a file, a dataset, a checkpoint.
//                  The message says what is wrong and what to do. OptionError is the UserError
//                  for command-line and config-file options; it ends the process with status 2.
//   LibraryError   a call into MPI, HDF5, CUDA or NCCL failed. It keeps the library's name, the
//                  call's source text and the library's own error string (see the *_check.h
//                  headers of the layers that own those libraries).
//   InternalError  an invariant of atrous itself was broken: a bug, to be reported.
//
// what() is "[rank r/N host] <message> (at file:line)": the rank label first (core/rank_label.h),
// the call site last, so a line of a 64-rank log still says who failed and where.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace atrous {

struct SourceLocation {
  const char* file = "";
  int line = 0;
};

enum class ErrorKind { user, option, library, internal };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, SourceLocation where);

  ErrorKind kind() const { return kind_; }
  // The message alone, without rank label or call site.
  const std::string& message() const { return message_; }
  SourceLocation where() const { return where_; }
  // The process exit status this error calls for: 2 for option errors, 1 for all others.
  int exit_status() const { return kind_ == ErrorKind::option ? 2 : 1; }

 private:
  ErrorKind kind_;
  std::string message_;
  SourceLocation where_;
};

class UserError : public Error {
 public:
  UserError(std::string message, SourceLocation where) : Error(ErrorKind::user, std::move(message), where) {}

 protected:
  UserError(ErrorKind kind, std::string message, SourceLocation where)
      : Error(kind, std::move(message), where) {}
};

class OptionError : public UserError {
 public:
  OptionError(std::string message, SourceLocation where)
      : UserError(ErrorKind::option, std::move(message), where) {}
};

class LibraryError : public Error {
 public:
  // library: "MPI", "HDF5", "CUDA", "NCCL"; call: the call's source text;
  // library_message: the library's own description of the failure.
  LibraryError(std::string library, std::string call, std::string library_message, SourceLocation where);

  const std::string& library() const { return library_; }
  const std::string& call() const { return call_; }
  const std::string& library_message() const { return library_message_; }

 private:
  std::string library_;
  std::string call_;
  std::string library_message_;
};

class InternalError : public Error {
 public:
  InternalError(std::string message, SourceLocation where)
      : Error(ErrorKind::internal, std::move(message), where) {}
};

// An error that every rank already knows about and that has already been printed, once, by
// distributed::agree_on_errors(). The top-level handler prints nothing more and ends every rank cleanly
// with exit_status(), instead of aborting the job.
class ReportedError : public std::runtime_error {
 public:
  explicit ReportedError(int exit_status)
      : std::runtime_error("error already reported"), exit_status_(exit_status) {}
  int exit_status() const { return exit_status_; }

 private:
  int exit_status_;
};

// Writes "atrous: error: <text>" as one line to standard error, at once, so that the lines of
// several ranks do not interleave (for the top-level handlers).
void print_error(const std::string& text);

// Concatenates its arguments with operator<<.
template <class... Parts>
std::string to_text(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

}  // namespace atrous

#define ATROUS_HERE (::atrous::SourceLocation{__FILE__, __LINE__})

// Throws UserError(message) unless cond holds; the message parts are joined with operator<<.
#define ATROUS_CHECK(cond, ...)                                                          \
  do {                                                                                   \
    if (!(cond)) throw ::atrous::UserError(::atrous::to_text(__VA_ARGS__), ATROUS_HERE); \
  } while (false)

// Throws InternalError unless cond holds: for invariants that only a bug in atrous can break.
#define ATROUS_ASSERT(cond, ...)                                                                             \
  do {                                                                                                       \
    if (!(cond))                                                                                             \
      throw ::atrous::InternalError(::atrous::to_text("internal invariant failed: " #cond "; ", __VA_ARGS__, \
                                                      " (this is a bug in atrous, please report it)"),       \
                                    ATROUS_HERE);                                                            \
  } while (false)
