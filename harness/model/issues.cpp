#include "harness/model/issues.hpp"

namespace sockchaos::harness {
namespace {

std::string compose_what(const std::vector<InputIssue>& issues) {
  std::string out;
  for (size_t i = 0; i < issues.size(); ++i) out += (i ? "\n" : "") + issues[i].str();
  if (out.empty()) out = "invalid scenario";
  return out;
}

}  // namespace

std::string InputIssue::str() const {
  std::string out = file.empty() ? "<input>" : file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!pointer.empty()) out += pointer + ": ";
  return out + message;
}

ScenarioError::ScenarioError(std::vector<InputIssue> issues)
    : std::runtime_error(compose_what(issues)), issues_(std::move(issues)) {}

}  // namespace sockchaos::harness
