#pragma once
// Reading environment variables and numbers strictly: garbage is an error, never a silent 0.

#include <optional>
#include <string>

namespace atrous {

// The variable's value, or nullopt when it is unset. An empty value counts as set.
std::optional<std::string> environment_variable(const std::string& name);

// The integer spelled by the whole of `text` (optional sign, decimal digits, nothing else) when it
// lies in [min, max]; nullopt otherwise.
std::optional<long> parse_integer(const std::string& text, long min, long max);

}  // namespace atrous
