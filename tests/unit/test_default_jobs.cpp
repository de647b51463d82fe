// The default -j: every cell at once, bounded by what the machine lets the process hold.
#include <gtest/gtest.h>
#include <sys/select.h>

#include "harness/model/load.hpp"
#include "harness/session/scheduler.hpp"

namespace sockchaos::harness {
namespace {

std::vector<PlannedCell> trivial_cells(size_t n, bool faults = false) {
  json doc = {{"name", "t"},
              {"server", {{"on", "server"}, {"port", 7000}, {"behavior", "echo"}}},
              {"client", {{"on", "client"}, {"connect", "server:7000"}, {"workload", {{"kind", "idle"}}}}}};
  if (faults) doc["faults"] = json::array({{{"kind", "blackhole"}, {"on", "server"}, {"at", "1s"}}});
  const Scenario s = load_scenario_json(doc, "<test>");
  std::vector<PlannedCell> cells;
  for (size_t i = 0; i < n; ++i) {
    PlannedCell c;
    c.cell.scenario = s;
    c.cell.id = std::to_string(i);
    cells.push_back(std::move(c));
  }
  return cells;
}

constexpr int64_t kGiB = int64_t{1} << 30;

TEST(DefaultJobs, EveryCellAtOnceWhenTheMachineAllowsIt) {
  const MachineBudget roomy{524288, 16 * kGiB, 0};
  EXPECT_EQ(default_jobs(trivial_cells(3), roomy), 3);
  EXPECT_EQ(default_jobs(trivial_cells(1), roomy), 1);
}

// libnftables select()s on its netlink socket: the orchestrator's fds stay under FD_SETSIZE
// however roomy the machine, and an explicit -j is held to the same cap.
TEST(DefaultJobs, NeverMoreThanFdSetSizeAllows) {
  const MachineBudget roomy{int64_t{1} << 40, int64_t{1} << 50, 0};
  const auto cells = trivial_cells(kMaxDefaultJobs + 5);
  const int cap = fd_set_jobs_cap(cells);
  EXPECT_EQ(default_jobs(cells, roomy), std::min(cap, kMaxDefaultJobs));
  EXPECT_LE(cap * cell_cost(cells[0].cell).fds, FD_SETSIZE - 128);
  EXPECT_GT((cap + 1) * cell_cost(cells[0].cell).fds, FD_SETSIZE - 128);
}

TEST(DefaultJobs, BoundedByTheOpenFileLimit) {
  const auto cells = trivial_cells(512);
  const int need = cell_cost(cells[0].cell).fds;
  ASSERT_GT(need, 0);
  const MachineBudget files{1024, 16 * kGiB, 0};
  // Three quarters of 1024 descriptors for cells, the rest kept for the process.
  EXPECT_EQ(default_jobs(cells, files), 768 / need);
  EXPECT_LE(default_jobs(cells, files) * need, 768);
}

TEST(DefaultJobs, BoundedByHalfTheAvailableMemory) {
  const auto cells = trivial_cells(512);
  const int64_t need = cell_cost(cells[0].cell).memory;
  const MachineBudget memory{524288, 64 * need, 0};
  EXPECT_EQ(default_jobs(cells, memory), std::min(32, fd_set_jobs_cap(cells)));
}

TEST(DefaultJobs, AtLeastOneWhateverTheBudget) {
  const MachineBudget tight{8, 1, 1};
  EXPECT_EQ(default_jobs(trivial_cells(10), tight), 1);
}

TEST(DefaultJobs, FaultsAndCaptureAddToACellsNeeds) {
  const auto plain = cell_cost(trivial_cells(1)[0].cell);
  const auto faulted = cell_cost(trivial_cells(1, true)[0].cell);
  EXPECT_GT(faulted.fds, plain.fds);  // an nftables context per host
  auto cells = trivial_cells(1);
  cells[0].cell.scenario.capture.enabled = false;
  const auto uncaptured = cell_cost(cells[0].cell);
  EXPECT_LT(uncaptured.fds, plain.fds);
  EXPECT_LT(uncaptured.memory, plain.memory);
}

}  // namespace
}  // namespace sockchaos::harness
