// Matrices in parallel, expectations and exit codes, CI output (JUnit, filter, shard, merge).
#include <nlohmann/json.hpp>
#include <set>

#include "support.hpp"

using nlohmann::json;
using sockchaos::testing::read_text;
using sockchaos::testing::sh;
using sockchaos::testing::write_text;

namespace {

// Six cells that each wait on a kernel timer (TCP_USER_TIMEOUT after a blackhole).
const char* kSweep = R"({
  "name": "sweep",
  "server": { "on": "server", "port": 7000, "behavior": "sink" },
  "client": { "on": "client", "connect": "server:7000",
              "workload": { "kind": "stream", "rate": "100KiB/s" } },
  "faults": [ { "kind": "blackhole", "on": "server", "at": "300ms" } ],
  "deadline": "5s",
  "matrix": {
    "/client/socket/tcp_user_timeout": ["500ms", "1s", "1500ms"],
    "/client/socket/keepalive": ["off", { "idle": "1s", "interval": "1s", "count": 3 }]
  },
  "expect": [
    { "where": { "/client/socket/tcp_user_timeout": "1s" }, "detected_within": "1.6s", "error": "ETIMEDOUT" }
  ]
})";

// Fast cells (a RST answers at once); one expectation is deliberately wrong.
const char* kFailing = R"({
  "name": "deliberate-failure",
  "server": { "on": "server", "port": 7000, "behavior": "sink" },
  "client": { "on": "client", "connect": "server:7000", "workload": { "kind": "stream", "rate": "1MiB/s" } },
  "faults": [ { "kind": "reject", "on": "server", "at": "200ms" } ],
  "deadline": "5s",
  "matrix": { "/client/socket/nodelay": [true, false] },
  "expect": [
    { "where": { "/client/socket/nodelay": true }, "error": "ETIMEDOUT" },
    { "where": { "/client/socket/nodelay": false }, "detected_within": "1s" }
  ]
})";

struct CliRun {
  int status = -1;
  std::string out, err;
  json results;
};

CliRun run_cli(const std::string& args, const std::filesystem::path& dir) {
  CliRun r;
  auto out = dir / "stdout.txt", err = dir / "stderr.txt";
  sh(std::string(SOCKCHAOS_CLI) + " " + args + " > " + out.string() + " 2> " + err.string(), &r.status);
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

std::map<std::string, json> runs_by_cell(const json& results) {
  std::map<std::string, json> m;
  for (const auto& s : results["scenarios"])
    for (const auto& c : s["cells"]) m[s["name"].get<std::string>() + "/" + c["id"].get<std::string>()] = c["runs"][0];
  return m;
}

}  // namespace

TEST(Matrix, SerialAndParallelRunsAgreeOnOutcomesErrnosAndTimes) {
  SKIP_UNLESS_ABLE();
  auto dir = sockchaos::testing::make_temp_dir("jobs");
  write_text(dir / "sweep.json", kSweep);
  auto serial = run_cli("run -j 1 " + (dir / "sweep.json").string() + " -o " + (dir / "j1").string(), dir);
  auto parallel = run_cli("run -j 32 " + (dir / "sweep.json").string() + " -o " + (dir / "j32").string(), dir);
  ASSERT_EQ(serial.status, 0) << serial.err;
  ASSERT_EQ(parallel.status, 0) << parallel.err;
  auto a = runs_by_cell(json::parse(read_text(dir / "j1" / "results.json")));
  auto b = runs_by_cell(json::parse(read_text(dir / "j32" / "results.json")));
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (const auto& [id, ra] : a) {
    ASSERT_TRUE(b.count(id)) << id;
    const json& rb = b[id];
    EXPECT_EQ(ra["outcome"], rb["outcome"]) << id;
    EXPECT_EQ(ra["error"], rb["error"]) << id;
    EXPECT_EQ(ra["mechanism"], rb["mechanism"]) << id;
    // Granularity: RTO and tail-loss-probe timers run on jiffies (4 ms at HZ=250) and the
    // first unacknowledged segment leaves on the next 10 ms write tick; the RTO itself
    // carries srtt. 100 ms covers that with room, and is far below any timeout compared.
    EXPECT_NEAR(ra["detection_ms"].get<double>(), rb["detection_ms"].get<double>(), 100.0) << id;
  }
}

TEST(Expectations, AFailingExpectationExitsOneWithAReadableReason) {
  SKIP_UNLESS_ABLE();
  auto dir = sockchaos::testing::make_temp_dir("fail");
  write_text(dir / "fail.json", kFailing);
  auto junit = dir / "junit.xml";
  auto r = run_cli("run " + (dir / "fail.json").string() + " -o " + (dir / "out").string() + " --junit " +
                       junit.string(), dir);
  EXPECT_EQ(r.status, 1) << r.err;
  // The person reading the console learns which check failed and what was measured.
  EXPECT_NE(r.out.find("FAIL"), std::string::npos) << r.out;
  json results = json::parse(read_text(dir / "out" / "results.json"));
  EXPECT_EQ(results["summary"]["expectations_failed"], 1);
  EXPECT_EQ(results["summary"]["expectations_passed"], 1);
  bool found = false;
  for (const auto& c : results["scenarios"][0]["cells"])
    for (const auto& e : c["expectations"])
      if (!e["passed"].get<bool>()) {
        found = true;
        EXPECT_EQ(e["check"], "error ETIMEDOUT");
        std::string detail = e["detail"];
        EXPECT_TRUE(detail.find("ECONNRESET") != std::string::npos || detail.find("EPIPE") != std::string::npos)
            << detail;
      }
  EXPECT_TRUE(found);
  // JUnit: one testcase per cell, the failure carries the check and the measurement.
  std::string xml = read_text(junit);
  size_t testcases = 0;
  for (size_t p = xml.find("<testcase"); p != std::string::npos; p = xml.find("<testcase", p + 1)) ++testcases;
  EXPECT_EQ(testcases, 2u) << xml;
  EXPECT_NE(xml.find("<failure"), std::string::npos) << xml;
  EXPECT_NE(xml.find("error ETIMEDOUT"), std::string::npos) << xml;
  EXPECT_NE(xml.find("classname=\"deliberate-failure\""), std::string::npos) << xml;
}

TEST(Expectations, WhereMatchingNoCellIsAnInputError) {
  auto dir = sockchaos::testing::make_temp_dir("where");
  std::string text = kFailing;
  text.replace(text.find("\"/client/socket/nodelay\": false }"), 33, "\"/client/socket/nodelay\": \"yes\" }");
  write_text(dir / "typo.json", text);
  auto r = run_cli("validate " + (dir / "typo.json").string(), dir);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("/expect/1/where"), std::string::npos) << r.err;
}

TEST(Ci, FilterShardsAndMergedReportCoverEveryCellOnce) {
  SKIP_UNLESS_ABLE();
  auto dir = sockchaos::testing::make_temp_dir("shard");
  // Fast cells only: a reset is detected at once.
  std::string fast = kFailing;
  fast.replace(fast.find("\"expect\""), std::string::npos, "\"expect\": [] }");
  fast.replace(fast.find("\"matrix\": { \"/client/socket/nodelay\": [true, false] }"),
               std::string("\"matrix\": { \"/client/socket/nodelay\": [true, false] }").size(),
               "\"matrix\": { \"/client/socket/nodelay\": [true, false], \"/client/socket/quickack\": [true, false] }");
  write_text(dir / "fast.json", fast);
  auto filtered = run_cli("run " + (dir / "fast.json").string() + " --filter 'quickack=true' -o " +
                              (dir / "f").string(), dir);
  ASSERT_EQ(filtered.status, 0) << filtered.err;
  auto f = runs_by_cell(json::parse(read_text(dir / "f" / "results.json")));
  EXPECT_EQ(f.size(), 2u);
  for (const auto& [id, _] : f) EXPECT_NE(id.find("quickack=true"), std::string::npos) << id;

  auto s1 = run_cli("run " + (dir / "fast.json").string() + " --shard 1/2 -o " + (dir / "s1").string(), dir);
  auto s2 = run_cli("run " + (dir / "fast.json").string() + " --shard 2/2 -o " + (dir / "s2").string(), dir);
  ASSERT_EQ(s1.status, 0) << s1.err;
  ASSERT_EQ(s2.status, 0) << s2.err;
  auto a = runs_by_cell(json::parse(read_text(dir / "s1" / "results.json")));
  auto b = runs_by_cell(json::parse(read_text(dir / "s2" / "results.json")));
  EXPECT_EQ(a.size() + b.size(), 4u);
  for (const auto& [id, _] : a) EXPECT_EQ(b.count(id), 0u) << "cell in both shards: " << id;
  // The same shard twice selects the same cells (deterministic).
  auto again = run_cli("run " + (dir / "fast.json").string() + " --shard 1/2 -o " + (dir / "s1b").string(), dir);
  auto a2 = runs_by_cell(json::parse(read_text(dir / "s1b" / "results.json")));
  std::set<std::string> ka, ka2;
  for (const auto& [id, _] : a) ka.insert(id);
  for (const auto& [id, _] : a2) ka2.insert(id);
  EXPECT_EQ(ka, ka2);

  auto merged = run_cli("report " + (dir / "s1" / "results.json").string() + " " + (dir / "s2" / "results.json").string() +
                            " -o " + (dir / "merged" / "report.html").string(), dir);
  EXPECT_EQ(merged.status, 0) << merged.err;
  json m = json::parse(read_text(dir / "merged" / "results.json"));
  EXPECT_EQ(m["summary"]["cells"], 4);
  EXPECT_EQ(runs_by_cell(m).size(), 4u);
  std::string html = read_text(dir / "merged" / "report.html");
  EXPECT_NE(html.find("fast"), std::string::npos);
}
