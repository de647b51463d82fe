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

// What one cell holds while it runs, at most (estimates from what the runner opens; the
// bench's many-cells run checks them against the orchestrator's measured fd count and RSS).
struct CellCost {
  int fds = 0;            // in the orchestrator: namespace fds, census and capture sockets,
                          // agents' pipes and pidfds, a spawn's transient pipes, nft contexts
  int64_t memory = 0;     // bytes: its agents (resident, mlockall'ed) + the capture it may keep
                          // + the kernel's per-namespace state
  int nft_contexts = 0;   // nftables contexts it may hold at once (one per host, with faults)
};
CellCost cell_cost(const Cell& cell);

// What the machine lets this process use.
struct MachineBudget {
  int64_t open_files = 1024;     // RLIMIT_NOFILE soft limit (after raise_open_file_limit())
  int64_t memory_available = 0;  // bytes, /proc/meminfo MemAvailable (0 = unknown)
  int64_t threads = 0;           // RLIMIT_NPROC-style bound on threads + agents (0 = none)
};
MachineBudget machine_budget();

// The default -j: every cell at once (cells wait on kernel timers, so overlap is what makes a
// matrix fast), bounded by the open-file limit (a quarter kept back for the process itself),
// half the available memory and kMaxDefaultJobs, each divided by the largest need of any cell.
constexpr int kMaxDefaultJobs = 1024;
int default_jobs(const std::vector<PlannedCell>& cells, const MachineBudget& budget);
// The most cells that may run at once whatever -j says: each nftables context's socket needs an
// fd below FD_SETSIZE (libnftables select()s on it; netns/nft.hpp), and the session reserves
// one for every context its parallel cells may hold, out of kLowFdBudget (the rest of the fds
// below 1024 are the process's own). Cells without faults hold none.
constexpr int kLowFdBudget = 1024 - 128;
int fd_set_jobs_cap(const std::vector<PlannedCell>& cells, int low_fds = kLowFdBudget);

// Results in the order of `cells`. Throws EnvironmentError (after stopping the rest) if a
// cell finds that the environment cannot run cells at all.
std::vector<CellResult> run_cells(const std::vector<PlannedCell>& cells, const ScheduleOptions& options);

// --shard K/N: cells whose index modulo N is K-1 (deterministic, spreads every scenario).
std::vector<PlannedCell> select_shard(std::vector<PlannedCell> cells, int k, int n);

}  // namespace sockchaos::harness
