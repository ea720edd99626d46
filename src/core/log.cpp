#include "atrous/core/log.h"

#include <ctime>
#include <iostream>

#include "atrous/core/options.h"
#include "atrous/core/rank_label.h"

namespace atrous {
namespace {

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

std::unique_ptr<Logger>& logger_slot() {
  static std::unique_ptr<Logger> logger = std::make_unique<Logger>(LogOptions{}, true, std::cout, std::cerr);
  return logger;
}

}  // namespace

const ChoiceValues<LogLevel>& log_level_choices() {
  static const ChoiceValues<LogLevel> choices{{"debug", LogLevel::debug},
                                              {"info", LogLevel::info},
                                              {"warn", LogLevel::warn},
                                              {"error", LogLevel::error}};
  return choices;
}

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return "INFO ";
    case LogLevel::warn:
      return "WARN ";
    case LogLevel::error:
      return "ERROR";
  }
  return "?";
}

void LogOptions::declare(OptionTable& table, LogOptions& options) {
  table.add_choice("log.level", &options.level, LogLevel::info, "lowest level printed by rank 0",
                   log_level_choices());
}

Logger::Logger(const LogOptions& options, bool is_root, std::ostream& out, std::ostream& err)
    : threshold_(options.level), is_root_(is_root), out_(out), err_(err) {}

void Logger::collective(LogLevel level, const std::string& message) {
  if (!prints(level)) return;
  write(level, message);
}

void Logger::from_this_rank(LogLevel level, const std::string& message) {
  if (level < threshold_) return;
  write(level, rank_label().text() + " " + message);
}

void Logger::write(LogLevel level, const std::string& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostream& stream = level >= LogLevel::warn ? err_ : out_;
  stream << timestamp() << ' ' << log_level_name(level) << ' ' << line << std::endl;
}

Logger& process_logger() {
  return *logger_slot();
}

void set_process_logger(std::unique_ptr<Logger> logger) {
  ATROUS_ASSERT(logger != nullptr, "set_process_logger needs a logger");
  logger_slot() = std::move(logger);
}

}  // namespace atrous
