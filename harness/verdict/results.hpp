// Assembles results.json (the contract in the spec's "Results" section).
#pragma once
#include <string>
#include <vector>

#include "harness/model/load.hpp"

namespace sockchaos::harness {

struct ScenarioResults {
  const Scenario* scenario = nullptr;
  std::vector<json> cells;
};

std::string tool_version();  // "sockchaos 0.1.0"
std::string kernel_release();
std::string iso8601_utc_now();

json make_results(const std::vector<ScenarioResults>& scenarios, const std::string& started);
json summarize(const json& results);  // recomputes "summary" from "scenarios"
bool all_expectations_passed(const json& results);

}  // namespace sockchaos::harness
