// The pure step from a run's raw record to its results: outcome and detection time, socket
// peaks and clearing times, census health, probe and request statistics, phases, the server's
// side, the timeline. No kernel, no clock: the same record always gives the same result.
//
// Detection time: from the first fault (or, when none was in yet, from the workload's start)
// to the return of the failing call: the client's first error (idle, stream, command exit), or
// the first probe or request that failed after the first fault (a probe's failing call is its
// connect or exchange, whose return the agent stamps).
#pragma once
#include "harness/metrics/record.hpp"
#include "harness/metrics/run_result.hpp"
#include "harness/model/types.hpp"

namespace sockchaos::harness {

RunResult measure_run(const RunRecord& record, const Scenario& scenario);

// The run of a cell that could not be carried out at all (an exception while starting it).
RunResult error_run(const std::string& detail);

}  // namespace sockchaos::harness
