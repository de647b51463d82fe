// Merging results files, e.g. the shards of a CI matrix (`sockchaos run --shard K/N`).
//
// Scenarios with the same name and file are one scenario: their cells are concatenated in the
// order of first appearance, a cell id seen again is dropped (the first occurrence wins).
// "started" is the earliest of the parts, "version"/"kernel" the first non-empty ones, and the
// summary is recomputed from the merged cells.
#pragma once
#include <vector>

#include <nlohmann/json.hpp>

namespace sockchaos::reports {

nlohmann::ordered_json merge_results(const std::vector<nlohmann::ordered_json>& parts);

// {"cells","runs","expectations_passed","expectations_failed","errors"} counted from scenarios.
nlohmann::ordered_json compute_summary(const nlohmann::ordered_json& results);

}  // namespace sockchaos::reports
