// Nothing left behind after any kill, partial results after SIGTERM, resource limits refused up
// front, faults without `until` lasting until the cell ends.
//
// Kill trials: `sockchaos run` SIGKILLed at a random moment (0-2.5 s) over scenarios with a
// node crash under load, a proxy chain and user commands (curl; a server command writing into
// {tmp}). Each trial runs in a child that is a child subreaper (PR_SET_CHILD_SUBREAPER), so
// every descendant the CLI leaves (agents, commands, the scratch reaper) becomes its child and
// is counted; its $TMPDIR is a private folder, so every scratch folder is seen. After the kill:
//   - processes: none of the CLI's descendants is alive 3 s later;
//   - namespaces: none of the network namespaces the CLI held (its /proc/PID/fd "net:[N]" links
//     just before the kill, with their NS_GET_ID ids) is in use by any process (ns/net or an
//     fd) any more; the id tells our namespace from a later one that got the same inode number;
//   - the initial namespace: links and nftables ruleset unchanged;
//   - scratch: the private $TMPDIR is empty.
// SOCKCHAOS_KILL_TRIALS=N sets the count (default 4; bench/kill-trials.sh runs 200);
// SOCKCHAOS_KILL_SEED the random seed. The last line printed is a summary the bench parses.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "common/json.hpp"
#include "tests/integration/support.hpp"

namespace fs = std::filesystem;
using sockchaos::json;
using sockchaos::testing::make_temp_dir;
using sockchaos::testing::read_text;
using sockchaos::testing::sh;
using sockchaos::testing::write_text;

namespace {

// The namespace's 64-bit id (NS_GET_ID, nsfs, Linux 6.18: never reused, unlike the inode
// number, which a namespace created after ours may get); 0 where the kernel lacks it.
uint64_t namespace_id(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint64_t id = 0;
  if (::ioctl(fd, _IOR(0xb7, 0xd, uint64_t), &id) != 0) id = 0;
  ::close(fd);
  return id;
}

// Network namespaces in use: inode ("net:[N]") -> where (every process's ns/net and every fd
// that is a namespace).
std::map<std::string, std::vector<fs::path>> net_namespaces_in_use(pid_t only = 0) {
  std::map<std::string, std::vector<fs::path>> out;
  std::error_code ec;
  auto scan = [&](const fs::path& proc) {
    std::error_code e;
    if (only == 0) {
      auto ns = fs::read_symlink(proc / "ns" / "net", e);
      if (!e) out[ns.string()].push_back(proc / "ns" / "net");
    }
    for (fs::directory_iterator it(proc / "fd", e), end; !e && it != end; it.increment(e)) {
      std::error_code e2;
      auto target = fs::read_symlink(it->path(), e2).string();
      if (!e2 && target.rfind("net:[", 0) == 0) out[target].push_back(it->path());
    }
  };
  if (only != 0) {
    scan(fs::path("/proc") / std::to_string(only));
    return out;
  }
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") == std::string::npos) scan(it->path());
  }
  return out;
}

const char* kCommandServer = R"({
  "name": "command-server-tmp",
  "server": { "on": "server", "port": 8080, "behavior": "command",
              "command": ["/usr/bin/python3", "-m", "http.server", "{port}", "--bind", "0.0.0.0", "--directory", "{tmp}"] },
  "client": { "on": "client", "connect": "server:8080",
              "workload": { "kind": "command", "command": ["sh", "-c", "for i in 1 2 3 4 5 6; do curl -sS -o /dev/null --max-time 1 http://{server}:{port}/ ; sleep 0.3; done"] } },
  "faults": [ { "kind": "blackhole", "on": "server", "at": "800ms", "until": "1500ms" } ],
  "deadline": "6s"
})";

struct Trial {
  int survivors = -1;        // descendants alive 3 s after the kill
  double cleanup_ms = -1;    // kill -> the last descendant reaped
  size_t namespaces_held = 0, namespaces_left = 0;
  size_t scratch_left = 0;
  bool host_changed = false;
};

// One trial; runs the CLI from a subreaper child and reports through a pipe.
Trial run_trial(const std::string& scenario, const fs::path& out, const fs::path& tmp, int kill_after_ms,
                const sockchaos::testing::HostNetworkSnapshot& before) {
  int report[2];
  EXPECT_EQ(::pipe2(report, O_CLOEXEC), 0);
  pid_t trial = ::fork();
  if (trial == 0) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t cli = ::fork();
    if (cli == 0) {
      ::setenv("TMPDIR", tmp.c_str(), 1);
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execl(SOCKCHAOS_CLI, SOCKCHAOS_CLI, "run", scenario.c_str(), "-o", out.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
    std::map<std::string, uint64_t> held;  // inode -> id
    // The CLI also holds the initial namespace (to bring threads back to it): not one of its own.
    const std::string initial = fs::read_symlink("/proc/self/ns/net").string();
    for (const auto& [inode, where] : net_namespaces_in_use(cli))
      if (inode != initial) held[inode] = namespace_id(where.front());
    ::kill(cli, SIGKILL);
    const auto t0 = std::chrono::steady_clock::now();
    ::waitpid(cli, nullptr, 0);
    // Every orphan of the CLI is ours now: reap them as they go, at most 3 s.
    double last_ms = 0;
    int alive = 0;
    for (;;) {
      pid_t p = ::waitpid(-1, nullptr, WNOHANG);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (p > 0) {
        last_ms = ms;
        continue;
      }
      if (p < 0) break;  // ECHILD: none left
      if (ms > 3000) {
        for (fs::directory_iterator it("/proc"), end; it != end; ++it) {
          std::string status = read_text(it->path() / "status");
          if (status.find("\nPPid:\t" + std::to_string(::getpid()) + "\n") != std::string::npos) ++alive;
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // Left: one of the held namespaces is still in use. An inode number reused by a namespace
    // someone else created after the kill is told apart by the id.
    auto in_use = net_namespaces_in_use();
    size_t left = 0;
    for (const auto& [inode, id] : held) {
      auto it = in_use.find(inode);
      if (it == in_use.end()) continue;
      bool same = id == 0;
      for (const auto& where : it->second)
        same = same || namespace_id(where) == id;
      if (same) ++left;
    }
    const std::string line = std::to_string(alive) + " " + std::to_string(last_ms) + " " + std::to_string(held.size()) +
                             " " + std::to_string(left) + "\n";
    (void)!::write(report[1], line.data(), line.size());
    ::_exit(0);
  }
  ::close(report[1]);
  char buf[256] = {};
  size_t got = 0;
  for (ssize_t n; (n = ::read(report[0], buf + got, sizeof buf - 1 - got)) > 0;) got += static_cast<size_t>(n);
  ::close(report[0]);
  ::waitpid(trial, nullptr, 0);
  Trial t;
  std::sscanf(buf, "%d %lf %zu %zu", &t.survivors, &t.cleanup_ms, &t.namespaces_held, &t.namespaces_left);
  // The reaper removes the scratch root once it sees EOF; it was reaped above, so it is done.
  std::error_code ec;
  for (fs::directory_iterator it(tmp, ec), end; !ec && it != end; it.increment(ec)) ++t.scratch_left;
  auto after = sockchaos::testing::HostNetworkSnapshot::take();
  t.host_changed = after.links != before.links || after.ruleset != before.ruleset;
  return t;
}

}  // namespace

TEST(KillTrials, SigkillAtRandomMomentsLeavesNothingBehind) {
  SKIP_UNLESS_ABLE();
  if (sh("command -v curl").empty()) GTEST_SKIP() << "curl is missing (apt-get install curl)";
  const int trials = std::getenv("SOCKCHAOS_KILL_TRIALS") ? std::atoi(std::getenv("SOCKCHAOS_KILL_TRIALS")) : 4;
  const unsigned seed = std::getenv("SOCKCHAOS_KILL_SEED") ? static_cast<unsigned>(std::atoi(std::getenv("SOCKCHAOS_KILL_SEED")))
                                                          : static_cast<unsigned>(std::random_device{}());
  auto dir = make_temp_dir("killtrials");
  write_text(dir / "command-server.json", kCommandServer);
  const std::string scenarios_dir = SOCKCHAOS_SCENARIO_DIR;
  const std::vector<std::string> scenarios = {scenarios_dir + "/node-crash-under-load.json",
                                              scenarios_dir + "/proxy-time-wait.json",
                                              scenarios_dir + "/curl-blackhole.json", (dir / "command-server.json").string()};
  const fs::path tmp = dir / "tmp";
  fs::create_directories(tmp);
  auto before = sockchaos::testing::HostNetworkSnapshot::take();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> when(0, 2500);
  int survivors = 0, host_changes = 0, failed_reports = 0;
  size_t scratch_left = 0, namespaces_left = 0, namespaces_held = 0;
  double worst_cleanup = 0, total_cleanup = 0;
  for (int i = 0; i < trials; ++i) {
    const std::string& scenario = scenarios[static_cast<size_t>(i) % scenarios.size()];
    const int at = when(rng);
    Trial t = run_trial(scenario, dir / "out", tmp, at, before);
    if (t.survivors < 0) ++failed_reports;
    EXPECT_EQ(t.survivors, 0) << "trial " << i << " (" << scenario << ", killed at " << at << " ms)";
    EXPECT_EQ(t.namespaces_left, 0u) << "trial " << i << " (" << scenario << ", killed at " << at << " ms)";
    EXPECT_EQ(t.scratch_left, 0u) << "trial " << i << " (" << scenario << ", killed at " << at << " ms)";
    EXPECT_FALSE(t.host_changed) << "trial " << i;
    survivors += std::max(0, t.survivors);
    scratch_left += t.scratch_left;
    namespaces_left += t.namespaces_left;
    namespaces_held += t.namespaces_held;
    host_changes += t.host_changed ? 1 : 0;
    worst_cleanup = std::max(worst_cleanup, t.cleanup_ms);
    total_cleanup += std::max(0.0, t.cleanup_ms);
    std::error_code ec;
    for (fs::directory_iterator it(tmp, ec), end; !ec && it != end; it.increment(ec)) fs::remove_all(it->path(), ec);
  }
  std::printf("kill-trials: trials=%d seed=%u survivors=%d namespaces_held=%zu namespaces_left=%zu scratch_left=%zu "
              "host_changes=%d report_failures=%d cleanup_ms_mean=%.1f cleanup_ms_max=%.1f\n",
              trials, seed, survivors, namespaces_held, namespaces_left, scratch_left, host_changes, failed_reports,
              trials ? total_cleanup / trials : 0.0, worst_cleanup);
}

TEST(CliLifecycle, SigtermWritesPartialResultsThatReportReads) {
  SKIP_UNLESS_ABLE();
  auto dir = make_temp_dir("term");
  write_text(dir / "three.json", R"({
    "name": "three-idle",
    "server": { "on": "server", "port": 7000, "behavior": "echo" },
    "client": { "on": "client", "connect": "server:7000", "workload": { "kind": "idle" } },
    "faults": [ { "kind": "blackhole", "on": "server", "at": "200ms" } ],
    "deadline": "60s",
    "matrix": { "/client/socket/rcvbuf": [65536, 131072, 262144] }
  })");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    ::execl(SOCKCHAOS_CLI, SOCKCHAOS_CLI, "run", "-j", "1", (dir / "three.json").c_str(), "-o", (dir / "out").c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  json r = json::parse(read_text(dir / "out" / "results.json"), nullptr, false);
  ASSERT_FALSE(r.is_discarded());
  EXPECT_EQ(r["interrupted"], true);
  const json& cells = r["scenarios"][0]["cells"];
  ASSERT_EQ(cells.size(), 3u) << "every selected cell is in the partial results";
  EXPECT_EQ(cells[0]["runs"][0]["outcome"], "error");
  EXPECT_EQ(cells[0]["runs"][0]["error_detail"], "interrupted");
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(cells[i]["interrupted"], true);
    EXPECT_EQ(cells[i]["runs"][0]["outcome"], "skipped");
    EXPECT_EQ(cells[i]["runs"][0]["error_detail"], "interrupted before it started");
  }
  // Valid for `sockchaos report`: read without an issue (exit 1: the cells did not pass; 2 would
  // be unreadable input).
  int rc = -1;
  std::string err = sh(std::string(SOCKCHAOS_CLI) + " report " + (dir / "out" / "results.json").string() + " -o " +
                           (dir / "merged" / "report.html").string() + " 2>&1 >/dev/null",
                       &rc);
  EXPECT_EQ(rc, 1) << err;
  json merged = json::parse(read_text(dir / "merged" / "results.json"), nullptr, false);
  ASSERT_FALSE(merged.is_discarded());
  EXPECT_EQ(merged["interrupted"], true);
  EXPECT_EQ(merged["scenarios"][0]["cells"][2]["interrupted"], true);
  // No temporary file of the atomic write is left beside the results.
  for (const auto& e : fs::directory_iterator(dir / "out"))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(ResourceLimits, MoreConnectionsThanOpenFilesIsRefusedUpFront) {
  auto dir = make_temp_dir("limits");
  write_text(dir / "many.json", R"({
    "name": "many-connections",
    "server": { "on": "server", "port": 7000, "behavior": "respond" },
    "client": { "on": "client", "connect": "server:7000",
                "workload": { "kind": "request", "connections": 5000, "rate": 100, "duration": "1s" } },
    "faults": []
  })");
  int rc = -1;
  const auto t0 = std::chrono::steady_clock::now();
  std::string err = sh("prlimit --nofile=1024:1024 " + std::string(SOCKCHAOS_CLI) + " run " + (dir / "many.json").string() +
                           " -o " + (dir / "out").string() + " 2>&1 >/dev/null",
                       &rc);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(rc, 3) << err;
  EXPECT_NE(err.find("many-connections"), std::string::npos) << err;
  EXPECT_NE(err.find("open-file limit is 1024"), std::string::npos) << err;
  EXPECT_NE(err.find("nothing was run"), std::string::npos) << err;
  EXPECT_NE(err.find("what to do"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir / "out" / "results.json")) << "refused before anything ran";
  EXPECT_LT(secs, 10.0);
  // The same scenario fits under the default limit of this machine (when it is high enough).
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_max != RLIM_INFINITY && nofile.rlim_max < 6000) return;
  if (!sockchaos::testing::missing_features().empty()) return;
  write_text(dir / "few.json", R"({
    "name": "few-connections",
    "server": { "on": "server", "port": 7000, "behavior": "respond" },
    "client": { "on": "client", "connect": "server:7000",
                "workload": { "kind": "request", "connections": 50, "rate": 100, "duration": "500ms" } },
    "faults": [], "capture": false
  })");
  sh("prlimit --nofile=1024:1024 " + std::string(SOCKCHAOS_CLI) + " run " + (dir / "few.json").string() + " -o " +
         (dir / "out2").string() + " >/dev/null 2>&1",
     &rc);
  EXPECT_EQ(rc, 0);
}

TEST(Faults, WithoutUntilAFaultLastsUntilTheCellEnds) {
  SKIP_UNLESS_ABLE();
  auto dir = make_temp_dir("until");
  // A paused server (SIGSTOP) and a blackholed one, each with and without until: without it
  // there is no heal, the client's stream stays stuck to the deadline; with it, a heal at until.
  write_text(dir / "until.json", R"({
    "name": "until-optional",
    "server": { "on": "server", "port": 7000, "behavior": "sink" },
    "client": { "on": "client", "connect": "server:7000", "workload": { "kind": "stream", "rate": "1MiB/s" },
                "socket": { "tcp_user_timeout": "off" } },
    "faults": [],
    "deadline": "2500ms",
    "capture": false,
    "matrix": { "/faults": [
      [ { "kind": "pause", "on": "server", "at": "300ms" } ],
      [ { "kind": "pause", "on": "server", "at": "300ms", "until": "1s" } ],
      [ { "kind": "blackhole", "on": "server", "at": "300ms" } ],
      [ { "kind": "blackhole", "on": "server", "at": "300ms", "until": "1s" } ] ] }
  })");
  int rc = -1;
  std::string err = sh(std::string(SOCKCHAOS_CLI) + " run " + (dir / "until.json").string() + " -o " +
                           (dir / "out").string() + " 2>&1 >/dev/null",
                       &rc);
  json r = json::parse(read_text(dir / "out" / "results.json"), nullptr, false);
  ASSERT_FALSE(r.is_discarded()) << err;
  const json& cells = r["scenarios"][0]["cells"];
  ASSERT_EQ(cells.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const json& run = cells[i]["runs"][0];
    const bool has_until = i % 2 == 1;
    ASSERT_EQ(run["faults"].size(), 1u) << cells[i]["id"];
    const json& window = run["faults"][0];
    size_t heals = 0;
    for (const auto& e : run["timeline"])
      if (e.value("event", "") == "heal") ++heals;
    if (has_until) {
      EXPECT_EQ(heals, 1u) << cells[i]["id"];
      ASSERT_TRUE(window["healed_ms"].is_number()) << window;
      // Healed at until (1 s after the workload was ready), not before.
      EXPECT_GE(window["healed_ms"].get<double>(), 1000.0) << window;
    } else {
      EXPECT_EQ(heals, 0u) << cells[i]["id"] << ": a fault without until is never healed before the cell ends";
      EXPECT_TRUE(!window.contains("healed_ms") || window["healed_ms"].is_null()) << window;
      // Still in place when the cell ended at its deadline.
      EXPECT_EQ(run["outcome"], "undetected") << cells[i]["id"];
    }
  }
}
