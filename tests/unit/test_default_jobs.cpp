// The default -j: every cell at once, bounded by what the machine lets the process hold.
#include <gtest/gtest.h>

#include "harness/model/load.hpp"
#include "harness/session/scheduler.hpp"
#include "harness/world/topology.hpp"

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

// libnftables select()s on its netlink socket: every nftables context needs a low fd from the
// session's reserve (kLowFdBudget), however roomy the machine; an explicit -j is held to the
// same cap. Cells without faults hold no context and are not capped.
TEST(DefaultJobs, NeverMoreContextsThanTheLowFdReserveHolds) {
  const MachineBudget roomy{int64_t{1} << 40, int64_t{1} << 50, 0};
  const auto cells = trivial_cells(kMaxDefaultJobs + 5, /*faults=*/true);
  const int contexts = cell_cost(cells[0].cell).nft_contexts;
  EXPECT_EQ(contexts, 2);  // client and server, either may carry a fault's rules
  const int cap = fd_set_jobs_cap(cells);
  EXPECT_EQ(cap, kLowFdBudget / 2);
  EXPECT_EQ(default_jobs(cells, roomy), std::min(cap, kMaxDefaultJobs));
  EXPECT_EQ(fd_set_jobs_cap(cells, 10), 5) << "what the process could reserve";
  EXPECT_EQ(fd_set_jobs_cap(cells, 1), 1) << "never below one cell";
  const auto plain = trivial_cells(kMaxDefaultJobs + 5);
  EXPECT_EQ(cell_cost(plain[0].cell).nft_contexts, 0);
  EXPECT_EQ(default_jobs(plain, roomy), kMaxDefaultJobs);
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

// Each host's TCP hash: small only where the cell's sockets are known to stay few.
TEST(TcpHash, SmallOnlyWhenTheCellsSocketCountIsKnownAndFew) {
  json doc = {{"name", "t"},
              {"server", {{"on", "server"}, {"port", 7000}, {"behavior", "echo"}}},
              {"client", {{"on", "client"}, {"connect", "server:7000"}, {"workload", {{"kind", "idle"}}}}}};
  const auto buckets = [&doc] { return tcp_hash_buckets(load_scenario_json(doc, "<test>")); };
  EXPECT_EQ(buckets(), netns::kTcpHashSmall) << "idle: one connection";
  doc["client"]["workload"] = {{"kind", "stream"}, {"rate", "1MiB/s"}};
  EXPECT_EQ(buckets(), netns::kTcpHashSmall) << "stream: one connection";
  doc["client"]["workload"] = {{"kind", "probe"}, {"count", static_cast<int>(netns::kTcpHashSmall / 2)}};
  EXPECT_EQ(buckets(), netns::kTcpHashSmall) << "probes leaving at most half the buckets in TIME_WAIT";
  doc["client"]["workload"]["count"] = static_cast<int>(netns::kTcpHashSmall / 2) + 1;
  EXPECT_EQ(buckets(), netns::kTcpHashLarge) << "more probes than that";
  doc["client"]["workload"] = {{"kind", "request"}, {"rate", 100}, {"duration", "1s"}};
  EXPECT_EQ(buckets(), netns::kTcpHashLarge) << "requests reconnect without bound";
  doc["client"]["workload"] = {{"kind", "idle"}};
  doc["server"] = {{"on", "server"}, {"port", 7000}, {"behavior", "command"}, {"command", {"sleep", "5"}}};
  EXPECT_EQ(buckets(), netns::kTcpHashLarge) << "a user's program: any number of sockets";
}

}  // namespace
}  // namespace sockchaos::harness
