// Helpers shared by the test suites.
#pragma once
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "autograd/error.h"

// Asserts that `expr` throws dg::Error whose message contains `needle` (and prints the message if not).
#define CHECK_THROWS_WITH_PART(expr, needle)                                             \
  do {                                                                                   \
    std::string msg_;                                                                    \
    try { (void)(expr); } catch (const dg::Error& e) { msg_ = e.what(); }                \
    CHECK_MESSAGE(msg_.find(needle) != std::string::npos, "message: '" << msg_ << "'"); \
  } while (0)

// The message of the dg::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const dg::Error& e) {
    return e.what();
  }
  return "(no error)";
}
