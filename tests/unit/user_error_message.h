#pragma once
// refusal(call): the message of the UserError that `call` throws, or a test failure when it throws none.

#include <gtest/gtest.h>

#include <string>

#include "atrous/core/error.h"

namespace atrous::test_support {

template <class Call>
std::string refusal(Call call) {
  try {
    call();
  } catch (const UserError& error) {
    return error.message();
  }
  ADD_FAILURE() << "no UserError";
  return "";
}

}  // namespace atrous::test_support
