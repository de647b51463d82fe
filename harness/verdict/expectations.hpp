// Expectations evaluated against a cell's runs.
//
// One ExpectationResult per check: an expectation {detected_within: "3s", error: "ETIMEDOUT"}
// gives two results. With repeat > 1 every run must satisfy a check; the detail reports the
// worst run. A run whose outcome is "error" (or "skipped") fails every check, its detail being
// the run's error_detail. No runs at all fails every check.
//
// Checks fail closed: what the data cannot show fails with the reason.
//   - detected_within / detected_after need a detection counted from the first fault: a client
//     error before the first fault (detection_origin "start" in a cell with faults) fails them;
//   - socket checks need the host's census: no successful sample is "no data"; census errors
//     fail the upper bounds (time_wait_max, states_max), since a missed sample can hide a peak;
//   - a time_wait_cleared_* limit longer than the observation is refused when the file is read.
//
// check strings: "detected_within 3s", "detected_after 1s", "undetected", "error ETIMEDOUT",
//   "mechanism keepalive", "time_wait_max 0 (client)", "time_wait_min 1 (server)",
//   "states_max CLOSE_WAIT 0 (server)", "states_min CLOSE_WAIT 1 (server)", "probe_failures_max 0",
//   "probe_failures_min 1", "time_wait_cleared_after 1m (client)", "time_wait_cleared_within 65s (client)".
// time_wait_cleared_*: read sockets.<host>.time_wait_cleared_ms (ms after the workload ended).
//   "after" passes when TIME_WAIT was still there at that time: cleared later, or never cleared
//   during the observation (null), but fails when there was no TIME_WAIT at all; "within" needs
//   a recorded clearing time at most the limit.
// details: "2208.4 ms", "undetected after deadline 30s", "TIME_WAIT peak 0 on client",
//   "probe failures 12"; " (worst of N runs)" is appended when there are several runs.
#pragma once
#include <vector>

#include "harness/metrics/run_result.hpp"
#include "harness/model/types.hpp"
#include "harness/verdict/results.hpp"

namespace sockchaos::harness {

// Evaluates the cell's applicable expectations (cell.scenario.expect, filtered by
// expectation_applies) against `runs`.
std::vector<ExpectationResult> evaluate_expectations(const Cell& cell, const std::vector<RunResult>& runs);

}  // namespace sockchaos::harness
