// The scheduler's limit on runs at once (-j) with the next cell's network built while the
// previous cell finishes (harness/session/scheduler.cpp, `busy`).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "common/clock.hpp"
#include "harness/model/load.hpp"
#include "harness/session/scheduler.hpp"
#include "harness/session/session.hpp"
#include "harness/world/process.hpp"
#include "support.hpp"

using namespace sockchaos;

namespace {

std::vector<harness::PlannedCell> trivial_cells(int n) {
  const json doc = {
      {"name", "sched"},
      {"server", {{"on", "server"}, {"port", 47100}, {"behavior", "echo"}}},
      {"client",
       {{"on", "client"}, {"connect", "server:47100"}, {"workload", {{"kind", "probe"}, {"count", 1}, {"rate", "max"}}}}}};
  const harness::Scenario s = harness::load_scenario_json(doc, "<test>");
  std::vector<harness::PlannedCell> cells;
  for (int i = 0; i < n; ++i) {
    harness::PlannedCell c;
    c.cell.scenario = s;
    c.cell.scenario_name = s.name;
    c.cell.id = "c" + std::to_string(i);
    cells.push_back(std::move(c));
  }
  return cells;
}

}  // namespace

// With -j 1 no run starts its agents before the previous run's workload and observation are
// over, and the cells start in their order; and the next cell does start while the previous
// one is still finishing (here: its observed hook holds it 500 ms), rather than after it is
// judged.
TEST(Scheduler, OneJobMeansOneRunObservedAtATimeAndTheNextIsBuiltWhileThePreviousFinishes) {
  SKIP_UNLESS_ABLE();
  constexpr int kCells = 4;
  std::mutex mu;
  std::vector<int64_t> starts, workload_ends, observed_ends;
  std::map<std::thread::id, int> run_of;  // the thread's current run (index into the vectors)
  harness::ScheduleOptions options;
  options.jobs = 1;
  options.run.agent_path = harness::find_agent_path();
  options.run.on_run_start = [&] {
    std::lock_guard g(mu);
    run_of[std::this_thread::get_id()] = static_cast<int>(starts.size());
    starts.push_back(monotonic_ns());
    workload_ends.push_back(-1);
    observed_ends.push_back(-1);
    return true;
  };
  options.run.on_workload_end = [&] {
    std::lock_guard g(mu);
    workload_ends[run_of.at(std::this_thread::get_id())] = monotonic_ns();
  };
  options.run.on_observed = [&] {
    int run = 0;
    {
      std::lock_guard g(mu);
      run = run_of.at(std::this_thread::get_id());
    }
    if (run == 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::lock_guard g(mu);
    observed_ends[run] = monotonic_ns();
  };
  std::map<int, std::string> cell_of_run;
  options.on_cell_done = [&](const harness::PlannedCell& pc, const harness::CellResult&, const harness::Progress&) {
    std::lock_guard g(mu);  // called on the worker thread that ran the cell, after its runs
    cell_of_run[run_of.at(std::this_thread::get_id())] = pc.cell.id;
  };
  const auto results = harness::run_cells(trivial_cells(kCells), options);
  ASSERT_EQ(results.size(), static_cast<size_t>(kCells));
  for (const auto& r : results) {
    ASSERT_EQ(r.runs.size(), 1u);
    EXPECT_FALSE(r.runs[0].error_detail.has_value()) << *r.runs[0].error_detail;
  }
  ASSERT_EQ(starts.size(), static_cast<size_t>(kCells));
  for (int k = 0; k < kCells; ++k) {
    EXPECT_GT(workload_ends[k], starts[k]) << "run " << k;
    EXPECT_GE(observed_ends[k], workload_ends[k]) << "run " << k;
  }
  // Run k+1 began after run k's workload ended (hooks in that order on run k's thread, and the
  // scheduler admits k+1 only once k is observed)...
  for (int k = 0; k + 1 < kCells; ++k) EXPECT_GT(starts[k + 1], workload_ends[k]) << "run " << k + 1;
  // The cells ran in their order (whichever network was ready first).
  for (int k = 0; k < kCells; ++k) EXPECT_EQ(cell_of_run[k], "c" + std::to_string(k)) << "run " << k;
  // ...but without waiting for run 0 to finish: it began during run 0's 500 ms in on_observed.
  EXPECT_LT(starts[1], observed_ends[0]) << "the next cell waited for the previous one to be judged";
  EXPECT_GT(observed_ends[0] - starts[1], 300'000'000) << "run 1 started late in run 0's tail";
}

// Capture files are written off the cells' threads (harness/run/pcap_writer.hpp): once the
// session returns, every file its results name is on disk and complete; a file that cannot be
// written is named nowhere, its error in its place.
TEST(Session, EveryCaptureFileTheResultsNameIsWrittenWhenTheSessionReturnsAndAFailedWriteIsAnError) {
  SKIP_UNLESS_ABLE();
  std::vector<harness::Scenario> scenarios;
  for (const auto& pc : trivial_cells(1)) scenarios.push_back(pc.cell.scenario);
  {
    auto dir = sockchaos::testing::make_temp_dir("pcapwriter");
    harness::SessionOptions options;
    options.jobs = 1;
    options.results_dir = dir.string();
    const auto results = harness::run_session(scenarios, options);
    ASSERT_EQ(results.scenarios.size(), 1u);
    int files = 0;
    for (const auto& cell : results.scenarios[0].cells)
      for (const auto& run : cell.runs)
        for (const auto& [host, capture] : run.capture.hosts) {
          ASSERT_FALSE(capture.file.empty()) << host << ": " << capture.error;
          EXPECT_TRUE(capture.error.empty()) << capture.error;
          const std::string bytes = sockchaos::testing::read_text(dir / capture.file);
          // pcap header (24 bytes, nanosecond magic a1b23c4d in host order) + every kept packet.
          ASSERT_GE(bytes.size(), 24u + 16u * capture.kept) << capture.file;
          EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x4d);
          EXPECT_GT(capture.kept, 0u);
          ++files;
        }
    EXPECT_EQ(files, 2);  // client and server
  }
  {
    auto dir = sockchaos::testing::make_temp_dir("pcapwriter");
    sockchaos::testing::write_text(dir / "captures", "a file where the captures folder goes\n");
    harness::SessionOptions options;
    options.jobs = 1;
    options.results_dir = dir.string();
    const auto results = harness::run_session(scenarios, options);
    int errors = 0;
    for (const auto& cell : results.scenarios[0].cells)
      for (const auto& run : cell.runs)
        for (const auto& [host, capture] : run.capture.hosts) {
          EXPECT_TRUE(capture.file.empty()) << capture.file;
          EXPECT_NE(capture.error.find("pcap " + dir.string() + "/captures/"), std::string::npos) << capture.error;
          ++errors;
        }
    EXPECT_EQ(errors, 2);
  }
}
