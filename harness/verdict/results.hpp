// results.json as types: what the CLI writes, `sockchaos report` merges, the reports render and
// Python reads. One JSON mapping (results_json.hpp), one pass rule (CellResult::passed).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "harness/metrics/run_result.hpp"
#include "harness/model/types.hpp"

namespace sockchaos::harness {

struct ExpectationResult {
  std::string check;    // "detected_within 3s"
  bool passed = false;
  std::string detail;   // "2208.4 ms"
  std::string pointer;  // the check's place in the scenario file: "/expect/0/detected_within"
};

struct DetectionSpread {
  double min = 0, median = 0, max = 0;
};

struct CellSummary {
  int64_t runs = 0, detected = 0;
  std::optional<DetectionSpread> detection_ms;
};

struct CellResult {
  std::string id;                 // "" for a scenario without a matrix
  json params = json::object();   // pointer -> value, in matrix order
  std::vector<RunResult> runs;
  std::vector<ExpectationResult> expectations;
  CellSummary summary;
  // SIGINT/SIGTERM stopped the session before this cell finished: a run was cut short
  // (error "interrupted") or never started (skipped "interrupted before it started").
  bool interrupted = false;

  int errored_runs() const;
  int skipped_runs() const;
  int expectations_failed() const;
  // The rule of the exit code, written once: no run errored and every expectation held.
  bool passed() const { return errored_runs() == 0 && expectations_failed() == 0; }
};

struct ScenarioResult {
  std::string name, file, description;
  std::vector<std::string> matrix_axes;
  std::vector<CellResult> cells;
};

struct Summary {
  int64_t cells = 0, runs = 0, expectations_passed = 0, expectations_failed = 0, errors = 0;
};

struct Results {
  std::string version, kernel, started;
  std::vector<ScenarioResult> scenarios;
  Summary summary;
  bool interrupted = false;  // partial: some cells were cut short or not run (CellResult::interrupted)
  bool passed() const;  // every cell passed
};

std::string tool_version();  // "sockchaos 0.1.0"
std::string kernel_release();
std::string iso8601_utc_now();

// Counts what the cells say.
Summary summarize(const std::vector<ScenarioResult>& scenarios);

// A cell's runs judged: its applicable expectations evaluated and the detection spread.
CellResult judge_cell(const Cell& cell, std::vector<RunResult> runs);

// One scenario's part of the results.
ScenarioResult scenario_result(const Scenario& scenario, std::vector<CellResult> cells);

// Everything: version, kernel, start time, scenarios, summary.
Results make_results(std::vector<ScenarioResult> scenarios, const std::string& started);

// Merging results files, e.g. the shards of a CI matrix (`sockchaos run --shard K/N`).
// Scenarios with the same name and file are one scenario: their cells are concatenated in the
// order of first appearance, a cell id seen again is dropped (the first occurrence wins), matrix
// axes are united. "started" is the earliest of the parts, "version"/"kernel" the first
// non-empty ones, and the summary is recomputed from the merged cells.
Results merge_results(const std::vector<Results>& parts);

}  // namespace sockchaos::harness
