// One run of many scenarios: expand cells, filter, shard, run in parallel, assemble
// results.json. Shared by the CLI and the Python module.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "harness/model/load.hpp"
#include "harness/verdict/results.hpp"
#include "harness/session/scheduler.hpp"

namespace sockchaos::harness {

struct SessionOptions {
  int jobs = 0;              // 0 = default_jobs()
  std::string filter;        // ECMAScript regex on "scenario/cell-id"; "" = all
  int shard_k = 1, shard_n = 1;
  int cancel_fd = -1;        // see RunOptions
  std::string agent_path;    // "" = find_agent_path()
  std::string results_dir;   // captures go to <results_dir>/captures/ (see RunOptions)
  std::function<void(const Scenario&, const CellResult& cell, const Progress&)> on_cell_done;
  std::function<void(const Progress&)> on_progress;
};

// Throws std::invalid_argument for a bad filter or shard or when no cell is selected, and
// EnvironmentError when the machine cannot run cells.
Results run_session(const std::vector<Scenario>& scenarios, const SessionOptions& options);

}  // namespace sockchaos::harness
