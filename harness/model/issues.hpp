// Input problems: every one names the file, the JSON Pointer of the offending value, its line
// when known, and what was expected. Loaders collect all they can find and throw ScenarioError
// carrying them (exit code 2 in the CLI, sockchaos.ScenarioError in Python).
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace sockchaos::harness {

struct InputIssue {
  std::string file;     // as given by the user ("<dict>" for in-memory scenarios)
  std::string pointer;  // JSON Pointer, "" for the whole document
  int line = 0;         // 1-based, 0 if unknown
  std::string message;  // what is wrong and what was expected
  std::string str() const;  // "file:line: /pointer: message", on one line (control characters escaped)
};

class ScenarioError : public std::runtime_error {
 public:
  explicit ScenarioError(std::vector<InputIssue> issues);
  const std::vector<InputIssue>& issues() const { return issues_; }

 private:
  std::vector<InputIssue> issues_;
};

}  // namespace sockchaos::harness
