#pragma once
// Logging: a rank-0 console log with levels and timestamps, plus rank-prefixed reports from any rank.
//
//   debug/info/warn(...)          collective messages, the same on every rank: only the root rank
//                                 (rank 0) prints them, so a 64-rank job logs one line, not 64.
//   rank_warning/rank_error(...)  something that concerns this rank only: printed by whichever rank
//                                 calls it, with the rank label "[rank r/N host]".
// Lines look like "2026-11-25 17:40:01 INFO  message"; debug and info go to `out`, warnings and
// errors to `err`. Messages are joined from their arguments with operator<<. Thread-safe.
//
// The process has one logger, process_logger(); the command-line front end installs one configured
// from LogOptions once the rank is known. Tests build their own Logger on string streams.

#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>

#include "atrous/core/error.h"
#include "atrous/core/options.h"

namespace atrous {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// The names of log.level: debug, info, warn, error.
const ChoiceValues<LogLevel>& log_level_choices();
// The level as a log line shows it: "DEBUG", "INFO ", "WARN ", "ERROR".
const char* log_level_name(LogLevel level);

struct LogOptions {
  LogLevel level = LogLevel::info;  // log.level

  static void declare(OptionTable& table, LogOptions& options);
};

class Logger {
 public:
  // Validates options.level. is_root: whether this process prints the collective messages.
  Logger(const LogOptions& options, bool is_root, std::ostream& out, std::ostream& err);

  template <class... Parts>
  void debug(const Parts&... parts) {
    collective(LogLevel::debug, to_text(parts...));
  }
  template <class... Parts>
  void info(const Parts&... parts) {
    collective(LogLevel::info, to_text(parts...));
  }
  template <class... Parts>
  void warn(const Parts&... parts) {
    collective(LogLevel::warn, to_text(parts...));
  }
  template <class... Parts>
  void rank_warning(const Parts&... parts) {
    from_this_rank(LogLevel::warn, to_text(parts...));
  }
  template <class... Parts>
  void rank_error(const Parts&... parts) {
    from_this_rank(LogLevel::error, to_text(parts...));
  }

  bool prints(LogLevel level) const { return is_root_ && level >= threshold_; }
  LogLevel threshold() const { return threshold_; }
  bool is_root() const { return is_root_; }

 private:
  void collective(LogLevel level, const std::string& message);
  void from_this_rank(LogLevel level, const std::string& message);
  void write(LogLevel level, const std::string& line);

  LogLevel threshold_;
  bool is_root_;
  std::ostream& out_;
  std::ostream& err_;
  std::mutex mutex_;
};

// The process-wide logger. Until set_process_logger() is called it prints info and above, as root,
// to std::cout / std::cerr.
Logger& process_logger();
void set_process_logger(std::unique_ptr<Logger> logger);

}  // namespace atrous
