#pragma once
// Argument values of the C++ benches: a bad one is a named error (the bench prints it and exits 2).

#include <stdexcept>
#include <string>

namespace atrous::bench {

// `value` of option `name` as an integer > 0; std::runtime_error "NAME VALUE: not an integer > 0".
inline int positive_integer(const std::string& name, const std::string& value) {
  size_t used = 0;
  try {
    const int result = std::stoi(value, &used);
    if (used == value.size() && result > 0) return result;
  } catch (const std::logic_error&) {
  }
  throw std::runtime_error(name + " " + value + ": not an integer > 0");
}

}  // namespace atrous::bench
