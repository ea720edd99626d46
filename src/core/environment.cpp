#include "atrous/core/environment.h"

#include <charconv>
#include <cstdlib>

namespace atrous {

std::optional<std::string> environment_variable(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::optional<long> parse_integer(const std::string& text, long min, long max) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') ++begin;  // from_chars accepts '-' but not '+'
  long value = 0;
  auto [stop, error] = std::from_chars(begin, end, value);
  if (error != std::errc() || stop != end || begin == end) return std::nullopt;
  if (value < min || value > max) return std::nullopt;
  return value;
}

}  // namespace atrous
