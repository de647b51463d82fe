// Scratch roots (names, the sweep of dead owners), the up-front resource plan and the
// interrupted flags of results. No root needed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "harness/model/load.hpp"
#include "harness/session/resources.hpp"
#include "harness/verdict/results_json.hpp"
#include "harness/world/scratch.hpp"

namespace fs = std::filesystem;
using namespace sockchaos::harness;

namespace {

struct PrivateDir {
  fs::path path;
  PrivateDir() {
    std::string tmpl = (fs::temp_directory_path() / "sockchaos-unit-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~PrivateDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

unsigned long long own_pid_namespace() {
  struct stat st {};
  ::stat("/proc/self/ns/pid", &st);
  return st.st_ino;
}

pid_t dead_pid() {
  pid_t p = ::fork();
  if (p == 0) ::_exit(0);
  ::waitpid(p, nullptr, 0);
  return p;
}

std::vector<PlannedCell> cells_of(const std::string& text) {
  std::vector<PlannedCell> out;
  for (auto& c : expand_cells(load_scenario_text(text))) out.push_back({0, std::move(c)});
  return out;
}

}  // namespace

TEST(Scratch, RootNamesParseOnlyWhenWellFormed) {
  ScratchOwner o;
  ASSERT_TRUE(parse_scratch_root_name("sockchaos-run.4026531836.123.456789.AbC123", o));
  EXPECT_EQ(o.pid_namespace, 4026531836ull);
  EXPECT_EQ(o.pid, 123);
  EXPECT_EQ(o.start_time, 456789ull);
  EXPECT_FALSE(parse_scratch_root_name("sockchaos-run-AbC123", o));           // the old, ownerless name
  EXPECT_FALSE(parse_scratch_root_name("sockchaos-run.1.2.3", o));            // no random part
  EXPECT_FALSE(parse_scratch_root_name("sockchaos-run.x.2.3.abc", o));
  EXPECT_FALSE(parse_scratch_root_name("sockchaos-run.1.0.3.abc", o));        // pid 0
  EXPECT_FALSE(parse_scratch_root_name("other.1.2.3.abc", o));
}

TEST(Scratch, SweepRemovesOnlyRootsOfDeadOwnersOfThisNamespace) {
  PrivateDir tmp;
  const std::string ns = std::to_string(own_pid_namespace());
  const fs::path dead = tmp.path / ("sockchaos-run." + ns + "." + std::to_string(dead_pid()) + ".1.aaaaaa");
  const fs::path reused = tmp.path / ("sockchaos-run." + ns + "." + std::to_string(::getpid()) + ".1.bbbbbb");  // pid alive, start time not ours
  const fs::path other_ns = tmp.path / ("sockchaos-run.1." + std::to_string(dead_pid()) + ".1.cccccc");
  const fs::path unrelated = tmp.path / "sockchaos-run-dddddd";
  for (const auto& p : {dead, reused, other_ns, unrelated}) fs::create_directories(p / "cell-x");
  EXPECT_EQ(sweep_dead_scratch(tmp.path.string()), 2);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(reused)) << "a reused pid is not the owner";
  EXPECT_TRUE(fs::exists(other_ns)) << "another PID namespace's pids mean nothing here";
  EXPECT_TRUE(fs::exists(unrelated));
}

TEST(Scratch, FoldersLiveUnderThisProcessRootWhichTheSweepKeeps) {
  PrivateDir tmp;
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  ::setenv("TMPDIR", tmp.path.c_str(), 1);
  auto dir = make_scratch_path("cell");
  if (old) ::setenv("TMPDIR", saved.c_str(), 1);
  else ::unsetenv("TMPDIR");
  ASSERT_TRUE(dir.ok()) << dir.error().str();
  const fs::path root = fs::path(*dir).parent_path();
  EXPECT_EQ(root.string(), scratch_root());
  ScratchOwner o;
  ASSERT_TRUE(parse_scratch_root_name(root.filename().string(), o)) << root;
  EXPECT_EQ(o.pid, ::getpid());
  EXPECT_EQ(o.pid_namespace, own_pid_namespace());
  struct stat st {};
  ASSERT_EQ(::stat(dir->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(sweep_dead_scratch(tmp.path.string()), 0) << "our own root is alive";
  EXPECT_TRUE(fs::exists(*dir));
  remove_scratch_dir(*dir);
  EXPECT_FALSE(fs::exists(*dir));
}

TEST(Resources, ACellThatCannotFitIsRefusedNamingItAndTheNumbers) {
  auto cells = cells_of(R"({"name": "many", "server": {"behavior": "respond"},
    "client": {"workload": {"kind": "request", "connections": 5000, "rate": 100, "duration": "1s"}}})");
  ResourcePlan plan = plan_resources(cells, 4, {1024, int64_t(8) << 30});
  ASSERT_EQ(plan.problems.size(), 1u);
  EXPECT_NE(plan.problems[0].find("many"), std::string::npos) << plan.problems[0];
  EXPECT_NE(plan.problems[0].find("5000 connections"), std::string::npos) << plan.problems[0];
  EXPECT_NE(plan.problems[0].find("open-file limit is 1024"), std::string::npos) << plan.problems[0];
  EXPECT_NE(plan.advice.find("ulimit -Hn"), std::string::npos);
  EXPECT_TRUE(plan_resources(cells, 4, {20000, int64_t(8) << 30}).problems.empty());
  // A hold server keeps every probe's connection.
  auto hold = cells_of(R"({"name": "hold", "server": {"behavior": "hold"},
    "client": {"workload": {"kind": "probe", "count": 3000}}})");
  EXPECT_EQ(plan_resources(hold, 1, {2048, int64_t(8) << 30}).problems.size(), 1u);
  EXPECT_TRUE(plan_resources(hold, 1, {4096, int64_t(8) << 30}).problems.empty());
  // Captures held in memory: 1 GiB per host on a machine with 512 MiB free.
  auto big = cells_of(R"({"name": "big", "capture": {"max_bytes": "1GiB"}})");
  ResourcePlan mem = plan_resources(big, 1, {20000, int64_t(512) << 20});
  ASSERT_EQ(mem.problems.size(), 1u);
  EXPECT_NE(mem.problems[0].find("memory"), std::string::npos) << mem.problems[0];
  EXPECT_NE(mem.advice.find("capture"), std::string::npos);
}

TEST(Resources, ParallelCellsAreLimitedToWhatFits) {
  auto cells = cells_of(R"({"name": "m", "matrix": {"/client/socket/nodelay": [true, false]}})");
  const CellNeeds n = estimate_needs(cells[0].cell);
  EXPECT_GT(n.orchestrator_fds, 0);
  ResourcePlan plan = plan_resources(cells, 64, {1024, int64_t(64) << 30});
  EXPECT_TRUE(plan.problems.empty());
  EXPECT_LT(plan.jobs, 64);
  EXPECT_GE(plan.jobs, 1);
  EXPECT_LE(plan.jobs * n.orchestrator_fds, 1024);
  EXPECT_EQ(plan_resources(cells, 8, {1 << 20, int64_t(64) << 30}).jobs, 8);
}

TEST(Interrupted, FlagsSurviveWritingReadingAndMerging) {
  Results r;
  r.version = "sockchaos test";
  ScenarioResult s;
  s.name = "s";
  CellResult done, cut, never;
  done.id = "a";
  cut.id = "b";
  cut.interrupted = true;
  RunResult cut_run;
  cut_run.outcome = sockchaos::harness::Outcome::error;
  cut_run.error_detail = kInterruptedDetail;
  cut.runs.push_back(cut_run);
  never.id = "c";
  never.interrupted = true;
  s.cells = {done, cut, never};
  r.scenarios.push_back(s);
  r.interrupted = true;
  const json written = to_json(r);
  EXPECT_EQ(written["interrupted"], true);
  EXPECT_FALSE(written["scenarios"][0]["cells"][0].contains("interrupted"));
  Results back = results_from_json(json::parse(written.dump()), "r.json");
  EXPECT_TRUE(back.interrupted);
  EXPECT_FALSE(back.scenarios[0].cells[0].interrupted);
  EXPECT_TRUE(back.scenarios[0].cells[1].interrupted);
  EXPECT_TRUE(back.scenarios[0].cells[2].interrupted);
  Results plain;
  EXPECT_TRUE(merge_results({plain, back}).interrupted);
  EXPECT_FALSE(merge_results({plain}).interrupted);
  // A wrong type is an issue with its pointer, like every other key.
  json bad = written;
  bad["scenarios"][0]["cells"][1]["interrupted"] = "yes";
  try {
    results_from_json(bad, "r.json");
    ADD_FAILURE() << "accepted";
  } catch (const ScenarioError& e) {
    EXPECT_EQ(e.issues().at(0).pointer, "/scenarios/0/cells/1/interrupted");
  }
}
