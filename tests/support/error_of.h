// The message of the Error a call throws, for EXPECT_THAT(…, HasSubstr(…));
// "(no error)" when it throws none.
#pragma once

#include <string>

#include "core/error.h"

namespace transformer::test_support {

template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace transformer::test_support
