// results.json <-> Results: the one mapping between the types and the file. Keys and their
// order are the contract (../shared/spec/scenario-format.md, docs/scenarios.md).
//
// Reading treats the file as untrusted input: every value of a known key is checked, and each
// problem is an InputIssue with the file, the JSON Pointer, the line and what was expected
// (exit 2 in the CLI). Keys this version does not know are ignored.
#pragma once
#include <string>
#include <vector>

#include "common/json.hpp"
#include "harness/model/issues.hpp"
#include "harness/model/load.hpp"
#include "harness/verdict/results.hpp"

namespace sockchaos::harness {

json to_json(const Results& results);
json to_json(const ScenarioResult& scenario);
json to_json(const CellResult& cell);
json to_json(const RunResult& run);
// A kernel model without a measurement (`sockchaos explain --format json`); results' "model"
// objects are this plus measured, delta_ms, holds and why.
json to_json(const Model& model);

// A results.json may be large (every run's timeline and evidence), but not unbounded.
inline constexpr DocumentLimits kResultsLimits{size_t(256) << 20, "a sockchaos results.json"};

// Throws ScenarioError carrying every issue found.
Results results_from_json(const json& value, const std::string& file, const std::map<std::string, int>& lines = {});
// Reads and checks a results.json file (size-limited; JSON parse errors with their line).
Results load_results_file(const std::string& path);

}  // namespace sockchaos::harness
