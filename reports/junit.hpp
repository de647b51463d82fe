// results.json -> JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters).
//
// One <testsuite> per scenario (name = scenario name), one <testcase> per cell
// (classname = scenario name, name = cell id or "default", time = the runs' duration in
// seconds). A cell whose expectations failed gets one <failure> whose message lists every
// failed check with its measured detail; a cell with a run whose outcome is "error" gets an
// <error>; a cell whose runs were all skipped gets <skipped/>.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace sockchaos::reports {

std::string render_junit(const nlohmann::ordered_json& results);

}  // namespace sockchaos::reports
