#include "harness/session/resources.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace sockchaos::harness {

namespace {

constexpr int64_t kOrchestratorBaseFds = 64;  // stdio, the cancel pipe, the reaper's pipe, libraries
constexpr int64_t kAgentBaseFds = 32;         // stdio, timerfds, epoll, the scratch socket
// A connection's two ends, their kernel socket and a little buffered data (the default
// tcp_rmem/tcp_wmem start at 128 KiB / 16 KiB but an idle or request socket holds far less).
constexpr int64_t kMemoryPerConnection = 64 << 10;

std::string mib(int64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

}  // namespace

CellNeeds estimate_needs(const Cell& cell) {
  const Scenario& s = cell.scenario;
  const Workload& w = s.client.workload;
  CellNeeds n;
  // The orchestrator's own share is the scheduler's account (one estimate for -j and for this).
  const CellCost cost = cell_cost(cell);
  n.orchestrator_fds = cost.fds;
  // At once on the client: request keeps `connections` open; the other kinds one at a time.
  const int64_t concurrent = w.kind == WorkloadKind::request ? w.connections : 1;
  // Over the whole run (a `hold` server keeps every connection it accepted).
  int64_t total = concurrent;
  if (w.kind == WorkloadKind::probe) total = std::max<int64_t>(w.count, 1);
  n.client_fds = kAgentBaseFds + concurrent;
  const bool holds = s.server.behavior == ServerBehavior::hold;
  n.server_fds = kAgentBaseFds + (holds ? total : concurrent) * (s.server.behavior == ServerBehavior::proxy ? 2 : 1);
  n.memory_bytes = cost.memory + kMemoryPerConnection * (holds ? total : concurrent);
  return n;
}

MachineLimits MachineLimits::current() {
  MachineLimits m;
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0)
    m.open_files = nofile.rlim_max == RLIM_INFINITY ? INT64_MAX : static_cast<int64_t>(nofile.rlim_max);
  m.memory_bytes = machine_budget().memory_available;  // one reader of /proc/meminfo (scheduler)
  return m;
}

ResourcePlan plan_resources(const std::vector<PlannedCell>& cells, int jobs, const MachineLimits& limits) {
  ResourcePlan plan;
  plan.jobs = std::max(1, jobs);
  int64_t worst_fds = 0, worst_memory = 0;
  bool fds_short = false, memory_short = false;
  for (const auto& pc : cells) {
    const CellNeeds n = estimate_needs(pc.cell);
    worst_fds = std::max(worst_fds, n.orchestrator_fds);
    worst_memory = std::max(worst_memory, n.memory_bytes);
    std::ostringstream why;
    if (limits.open_files > 0) {
      const int64_t agent = std::max(n.client_fds, n.server_fds);
      if (agent > limits.open_files) {
        why << "needs about " << agent << " open files in its " << (n.server_fds >= n.client_fds ? "server" : "client")
            << " agent (" << (agent - kAgentBaseFds) << " connections at once), the open-file limit is "
            << limits.open_files;
        fds_short = true;
      } else if (kOrchestratorBaseFds + n.orchestrator_fds > limits.open_files) {
        why << "needs about " << kOrchestratorBaseFds + n.orchestrator_fds
            << " open files in the orchestrator, the open-file limit is " << limits.open_files;
        fds_short = true;
      }
    }
    if (limits.memory_bytes > 0 && n.memory_bytes > limits.memory_bytes) {
      if (why.tellp() > 0) why << "; it also ";
      why << "needs about " << mib(n.memory_bytes) << " of memory (packet captures of up to "
          << mib(pc.cell.scenario.capture.enabled ? pc.cell.scenario.capture.max_bytes : 0)
          << " per host, sockets), the machine has " << mib(limits.memory_bytes) << " available";
      memory_short = true;
    }
    if (why.tellp() > 0) plan.problems.push_back(pc.cell.full_id() + ": " + why.str());
  }
  if (!plan.problems.empty()) {
    if (fds_short) plan.advice = "raise the open-file limit (ulimit -Hn, LimitNOFILE= in systemd, --ulimit in docker) or ask for fewer connections";
    if (memory_short)
      plan.advice += std::string(plan.advice.empty() ? "" : "; ") +
                     "free memory, lower capture.max_bytes or turn the capture off (\"capture\": false)";
    return plan;
  }
  // Parallel cells: as many as the orchestrator's descriptors and half the free memory hold.
  if (limits.open_files > 0 && worst_fds > 0)
    plan.jobs = static_cast<int>(std::min<int64_t>(plan.jobs, std::max<int64_t>(1, (limits.open_files - kOrchestratorBaseFds) / worst_fds)));
  if (limits.memory_bytes > 0 && worst_memory > 0)
    plan.jobs = static_cast<int>(std::min<int64_t>(plan.jobs, std::max<int64_t>(1, limits.memory_bytes / 2 / worst_memory)));
  return plan;
}

}  // namespace sockchaos::harness
