// Test support: loads one file of the shared conformance vectors (../shared/conformance,
// passed in as SWITCHBOARD_CONFORMANCE_DIR by tests/CMakeLists.txt).
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

namespace sb::testing {

// Loads `name` as a non-empty JSON array into `cases`; false (with the reason as a test
// failure) if it is missing, unreadable or empty. Callers ASSERT on it: a missing folder fails
// the test, it never skips (and never touches an unloaded array).
inline bool LoadConformanceCases(simdjson::dom::parser& parser, const std::string& name,
                                 simdjson::dom::array* cases) {
  const std::string path = std::string(SWITCHBOARD_CONFORMANCE_DIR) + "/" + name;
  simdjson::dom::element root;
  if (const auto error = parser.load(path).get(root); error != simdjson::SUCCESS) {
    ADD_FAILURE() << "cannot load " << path << ": " << simdjson::error_message(error);
    return false;
  }
  if (root.get_array().get(*cases) != simdjson::SUCCESS) {
    ADD_FAILURE() << path << " is not a JSON array";
    return false;
  }
  if (cases->size() == 0) {
    ADD_FAILURE() << path << " holds no cases";
    return false;
  }
  return true;
}

}  // namespace sb::testing
