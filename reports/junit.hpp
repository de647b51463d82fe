// results.json -> JUnit XML for CI systems (Jenkins, GitLab, GitHub test reporters).
//
// One <testsuite> per scenario (name = scenario name), one <testcase> per cell
// (classname = scenario name, name = cell id or "default", time = the runs' duration in
// seconds). A cell whose expectations failed gets one <failure> whose message lists every
// failed check with its measured detail; a cell with a run whose outcome is "error" gets an
// <error>; a cell whose runs were all skipped gets <skipped/>. So a testcase without <failure>
// or <error> is a cell whose CellResult::passed() holds.
#pragma once
#include <string>

#include "harness/verdict/results.hpp"

namespace sockchaos::reports {

std::string render_junit(const harness::Results& results);

}  // namespace sockchaos::reports
