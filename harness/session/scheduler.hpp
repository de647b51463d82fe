// Runs cells side by side. Each cell has its own namespaces, so cells never share a socket,
// an address or a ruleset; they mostly sleep on kernel timers, so running many at once
// overlaps the waits. Worker threads live until every cell is done (agents' PDEATHSIG is tied
// to the thread that started them).
#pragma once
#include <functional>
#include <vector>

#include "harness/model/types.hpp"
#include "harness/run/runner.hpp"
#include "harness/verdict/results.hpp"

namespace sockchaos::harness {

struct PlannedCell {
  size_t scenario_index = 0;
  Cell cell;
};

// A cell that keeps the CPU busy (probes or requests as fast as possible, or at thousands a
// second; an unpaced stream) rather than waiting on kernel timers. Such cells run one at a
// time in a lane of their own, so they neither slow each other's loops nor starve the
// timing cells running beside them.
bool is_cpu_bound(const Cell& cell);

struct Progress {
  int done = 0, running = 0, failed = 0, total = 0;
};

struct ScheduleOptions {
  int jobs = 0;  // 0 = default_jobs()
  RunOptions run;
  // Called (serialised) as each cell finishes, and when cells start.
  std::function<void(const PlannedCell&, const CellResult& cell_result, const Progress&)> on_cell_done;
  std::function<void(const Progress&)> on_progress;
};

int default_jobs(size_t cells);

// Results in the order of `cells`. Throws EnvironmentError (after stopping the rest) if a
// cell finds that the environment cannot run cells at all.
std::vector<CellResult> run_cells(const std::vector<PlannedCell>& cells, const ScheduleOptions& options);

// --shard K/N: cells whose index modulo N is K-1 (deterministic, spreads every scenario).
std::vector<PlannedCell> select_shard(std::vector<PlannedCell> cells, int k, int n);

}  // namespace sockchaos::harness
