// Real programs through the CLI: host names inside commands, placeholders and templates, a
// relative scenario path, commands in every role, the keys the gallery needed (half_close_after,
// idle_timeout, start_after, tcp_flags mask/value, defer_accept), skipped cells and exit codes.
// Timing bounds from the kernel's rules: a timer under 2 s fires up to 32 ms late at HZ=250;
// the agent's own timers are epoll_wait timeouts (1 ms).
#include <nlohmann/json.hpp>

#include "support.hpp"

using nlohmann::json;
using sockchaos::testing::read_text;
using sockchaos::testing::sh;
using sockchaos::testing::write_text;

namespace {

const char* kNames = R"({
  "name": "names",
  "hosts": { "client": {}, "proxy": {}, "server": {} },
  "links": [["client", "proxy"], ["proxy", "server"]],
  "upstream_server": { "on": "server", "port": 8081, "behavior": "command",
                       "command": ["python3", "-m", "http.server", "{port}", "--bind", "0.0.0.0", "--directory", "{tmp}"] },
  "server": { "on": "proxy", "port": 8080, "behavior": "command",
              "command": ["python3", "-m", "http.server", "{port}", "--bind", "0.0.0.0", "--directory", "{tmp}"] },
  "client": { "on": "client", "connect": "proxy:8080",
              "files": { "rendered.txt": "{dir}/names.txt.in" },
              "workload": { "kind": "command", "command": ["sh", "-c",
                "hostname; getent hosts server proxy client; cat {tmp}/rendered.txt; curl -sS -o /dev/null -w '%{{http_code}\n' http://proxy:{port}/ && curl -sS -o /dev/null -w '%{{http_code}\n' http://{addr:proxy}:{port}/"] } },
  "deadline": "10s"
})";

const char* kNamesTemplate = "server is {addr:server}, proxy is {addr:proxy}, port {port}, literal {{port}\n";

const char* kServerKeys = R"({
  "name": "server-keys",
  "server": { "on": "server", "port": 7000, "behavior": "echo" },
  "client": { "on": "client", "connect": "server:7000", "workload": { "kind": "idle" } },
  "deadline": "3s",
  "matrix": { "/server": [
    { "on": "server", "port": 7000, "behavior": "echo", "half_close_after": "200ms" },
    { "on": "server", "port": 7000, "behavior": "sink", "idle_timeout": "300ms" } ] }
})";

const char* kStartAfter = R"({
  "name": "start-after",
  "server": { "on": "server", "port": 7000, "behavior": "sink", "idle_timeout": "300ms" },
  "client": { "on": "client", "connect": "server:7000",
              "workload": { "kind": "stream", "rate": "10KiB/s", "duration": "1s", "start_after": "100ms" } },
  "deadline": "5s",
  "matrix": { "/client/workload/start_after": ["100ms", "600ms"] }
})";

// Pure ACKs arriving at the server are dropped from 500 ms on: the client's keepalive probes
// (pure ACKs) go unanswered. keepalive 1/1/2 after the last packet (the handshake, at ~0):
// probes at 1 s and 2 s, ETIMEDOUT at 3 s = 2.5 s after the fault.
const char* kPureAcks = R"({
  "name": "pure-acks",
  "server": { "on": "server", "port": 7000, "behavior": "echo" },
  "client": { "on": "client", "connect": "server:7000", "workload": { "kind": "idle" },
              "socket": { "keepalive": { "idle": "1s", "interval": "1s", "count": 2 } } },
  "faults": [ { "kind": "drop", "probability": 1, "on": "server", "direction": "in", "at": "500ms",
                "match": { "tcp_flags": { "mask": ["syn", "ack", "fin", "rst", "psh"], "value": ["ack"] } } } ],
  "deadline": "5s",
  "matrix": { "/faults/0/match/tcp_flags": [ { "mask": ["syn", "ack", "fin", "rst", "psh"], "value": ["ack"] }, "syn" ] }
})";

// TCP_DEFER_ACCEPT: a client that never sends is never accepted.
const char* kDeferAccept = R"({
  "name": "defer-accept",
  "server": { "on": "server", "port": 7000, "behavior": "echo", "socket": { "defer_accept": "5s" } },
  "client": { "on": "client", "connect": "server:7000", "workload": { "kind": "idle" } },
  "deadline": "1500ms",
  "matrix": { "/server/socket/defer_accept": ["5s", "off"] }
})";

const char* kDies = R"({
  "name": "dies",
  "server": { "on": "server", "port": 7000, "behavior": "command",
              "command": ["sh", "-c", "echo first line >&2; echo boom happened >&2; exit 7"] },
  "client": { "on": "client", "connect": "server:7000", "workload": { "kind": "idle" } },
  "deadline": "2s"
})";

const char* kSkipped = R"({
  "name": "skipped",
  "requires": { "no-such-program-xyz": "xyz-tools" },
  "server": { "on": "server", "port": 7000, "behavior": "echo" },
  "client": { "on": "client", "connect": "server:7000",
              "workload": { "kind": "command", "command": ["no-such-program-xyz"] } },
  "expect": [ { "undetected": true } ],
  "deadline": "2s"
})";

class RealPrograms : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!sockchaos::testing::missing_features().empty()) return;
    dir_ = sockchaos::testing::make_temp_dir("real");
    auto sc = dir_ / "scenarios";
    std::filesystem::create_directories(sc);
    write_text(sc / "names.json", kNames);
    write_text(sc / "names.txt.in", kNamesTemplate);
    write_text(sc / "server-keys.json", kServerKeys);
    write_text(sc / "start-after.json", kStartAfter);
    write_text(sc / "pure-acks.json", kPureAcks);
    write_text(sc / "defer-accept.json", kDeferAccept);
    write_text(sc / "dies.json", kDies);
    write_text(sc / "skipped.json", kSkipped);
    // From the scenarios' own folder, by relative paths: {dir} is that folder.
    sh("cd " + sc.string() + " && " + SOCKCHAOS_CLI + " run names.json server-keys.json start-after.json pure-acks.json " +
           "defer-accept.json dies.json skipped.json -o " + (dir_ / "out").string() + " > " + (dir_ / "stdout.txt").string() +
           " 2> " + (dir_ / "stderr.txt").string(),
       &exit_code_);
    results_ = json::parse(read_text(dir_ / "out" / "results.json"), nullptr, false);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  void SetUp() override {
    SKIP_UNLESS_ABLE();
    ASSERT_FALSE(results_.is_discarded()) << read_text(dir_ / "stderr.txt");
  }

  static json run_of(const std::string& scenario, const std::string& cell_id = "") {
    for (const auto& s : results_["scenarios"])
      if (s["name"] == scenario)
        for (const auto& c : s["cells"])
          if (c["id"] == cell_id) return c["runs"][0];
    ADD_FAILURE() << "no cell " << scenario << "/" << cell_id << " in results";
    return json::object();
  }

  static std::filesystem::path dir_;
  static json results_;
  static int exit_code_;
};

std::filesystem::path RealPrograms::dir_;
json RealPrograms::results_;
int RealPrograms::exit_code_ = -1;

}  // namespace

TEST_F(RealPrograms, HostNamesResolveInsideCommandsAndTemplatesAreRendered) {
  json run = run_of("names");
  ASSERT_EQ(run["outcome"], "undetected") << run.dump(2);
  const std::string out = run["command"]["stdout"];
  // Addresses from the plan: link 0 client-proxy 198.18.0.1/.2, link 1 proxy-server .5/.6.
  EXPECT_EQ(out.rfind("client\n", 0), 0u) << out;  // the UTS namespace's hostname
  EXPECT_NE(out.find("198.18.0.6      server"), std::string::npos) << out;
  EXPECT_NE(out.find("198.18.0.2      proxy"), std::string::npos) << out;
  EXPECT_NE(out.find("198.18.0.1      client"), std::string::npos) << out;
  EXPECT_NE(out.find("server is 198.18.0.6, proxy is 198.18.0.2, port 8080, literal {port}"), std::string::npos) << out;
  EXPECT_NE(out.find("200\n200\n"), std::string::npos) << out;  // by name, and by {addr:proxy}
  EXPECT_EQ(run["command"]["exit"], 0);
  // The machine's own /etc/hosts is untouched.
  EXPECT_EQ(sh("grep -c 198.18.0 /etc/hosts || true"), "0\n");
}

TEST_F(RealPrograms, HalfCloseAfterGivesTheClientEofAndIdleTimeoutClosesIdleConnections) {
  json half = run_of("server-keys", R"(server={"on":"server","port":7000,"behavior":"echo","half_close_after":"200ms"})");
  // The server's timers start at its accept; the client's clock (detection_ms, from the
  // workload's "ready") starts a little later, more so on a loaded machine: measure from the
  // accept the server reported (first_accept_ms, on the same timeline).
  auto after_accept = [](const json& run) {
    return run["detection_ms"].get<double>() - run["server"]["first_accept_ms"].get<double>();
  };
  EXPECT_EQ(half["error"], "EOF") << half.dump(2);
  EXPECT_GE(after_accept(half), 199.0) << half.dump(2);
  EXPECT_LE(after_accept(half), 260.0) << half.dump(2);
  json idle = run_of("server-keys", R"(server={"on":"server","port":7000,"behavior":"sink","idle_timeout":"300ms"})");
  EXPECT_EQ(idle["error"], "EOF") << idle.dump(2);
  EXPECT_GE(after_accept(idle), 299.0) << idle.dump(2);
  EXPECT_LE(after_accept(idle), 360.0) << idle.dump(2);
}

TEST_F(RealPrograms, StartAfterDelaysTheFirstSend) {
  // First send at 100 ms keeps the connection busy (the server's idle timer restarts);
  // at 600 ms the server's 300 ms idle timeout closed it first.
  EXPECT_EQ(run_of("start-after", "start_after=100ms")["outcome"], "undetected");
  json late = run_of("start-after", "start_after=600ms");
  EXPECT_EQ(late["error"], "EOF") << late.dump(2);
  EXPECT_GE(late["detection_ms"].get<double>(), 295.0);
  EXPECT_LE(late["detection_ms"].get<double>(), 360.0);
}

TEST_F(RealPrograms, DroppingPureAcksStarvesKeepaliveProbes) {
  json acks = run_of("pure-acks", R"(tcp_flags={"mask":["syn","ack","fin","rst","psh"],"value":["ack"]})");
  EXPECT_EQ(acks["error"], "ETIMEDOUT") << acks.dump(2);
  EXPECT_GE(acks["detection_ms"].get<double>(), 2400.0);
  EXPECT_LE(acks["detection_ms"].get<double>(), 2600.0);
  EXPECT_EQ(run_of("pure-acks", "tcp_flags=syn")["outcome"], "undetected");  // SYNs only: nothing on an open connection
}

TEST_F(RealPrograms, DeferAcceptKeepsASilentClientFromBeingAccepted) {
  EXPECT_EQ(run_of("defer-accept", "defer_accept=5s")["server"]["accepted"], 0);
  EXPECT_EQ(run_of("defer-accept", "defer_accept=off")["server"]["accepted"], 1);
}

TEST_F(RealPrograms, ACommandThatDiesIsAnErrorNamingItsStatusAndStderr) {
  json run = run_of("dies");
  EXPECT_EQ(run["outcome"], "error");
  const std::string detail = run["error_detail"];
  EXPECT_NE(detail.find("server command sh"), std::string::npos) << detail;
  EXPECT_NE(detail.find("status 7"), std::string::npos) << detail;
  EXPECT_NE(detail.find("boom happened"), std::string::npos) << detail;
}

TEST_F(RealPrograms, AMissingRequiredProgramSkipsTheCellNamingThePackage) {
  json run = run_of("skipped");
  EXPECT_EQ(run["outcome"], "skipped");
  EXPECT_EQ(run["error_detail"], "needs no-such-program-xyz (not found on PATH): apt-get install xyz-tools");
  const std::string out = read_text(dir_ / "stdout.txt");
  EXPECT_NE(out.find("1 cell(s) SKIPPED"), std::string::npos) << out;
  EXPECT_NE(read_text(dir_ / "out" / "junit.xml").find("<skipped"), std::string::npos);
  // The run failed only because of "dies" (exit 1); skipped alone is exit 0, 1 with --require-all.
  EXPECT_EQ(exit_code_, 1);
  int status = -1;
  sh(std::string(SOCKCHAOS_CLI) + " run " + (dir_ / "scenarios" / "skipped.json").string() + " -o " +
         (dir_ / "out-skip").string() + " >/dev/null 2>&1",
     &status);
  EXPECT_EQ(status, 0);
  sh(std::string(SOCKCHAOS_CLI) + " run --require-all " + (dir_ / "scenarios" / "skipped.json").string() + " -o " +
         (dir_ / "out-skip").string() + " >/dev/null 2>&1",
     &status);
  EXPECT_EQ(status, 1);
}

TEST(RealProgramInput, BadCommandsAndTemplatesAreExit2WithThePointer) {
  auto dir = sockchaos::testing::make_temp_dir("realbad");
  write_text(dir / "bad.json", R"({
  "name": "bad",
  "server": { "behavior": "command", "command": ["no-such-program-xyz"], "files": { "a.conf": "{dir}/missing.in" } },
  "client": { "workload": { "kind": "command", "command": ["curl", "http://{addr:nowhere}/", "{nope}"] } }
})");
  int status = -1;
  std::string err = sh("cd " + dir.string() + " && " + SOCKCHAOS_CLI + " validate bad.json 2>&1", &status);
  EXPECT_EQ(status, 2) << err;
  EXPECT_NE(err.find("/server/command/0: command not found on PATH: no-such-program-xyz"), std::string::npos) << err;
  EXPECT_NE(err.find("/server/files/a.conf: cannot read the template " + dir.string() + "/missing.in"), std::string::npos)
      << err;
  EXPECT_NE(err.find("/client/workload/command/1: unknown host \"nowhere\""), std::string::npos) << err;
  EXPECT_NE(err.find("/client/workload/command/2: unknown placeholder {nope}"), std::string::npos) << err;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST(RealProgramInput, HostNamesResolveInsideAUserNamespace) {
  SKIP_UNLESS_ABLE();
  int probe = -1;
  sh("unshare -Urn true 2>/dev/null", &probe);
  if (probe != 0) GTEST_SKIP() << "user namespaces are disabled on this kernel";
  auto dir = sockchaos::testing::make_temp_dir("realuserns");
  write_text(dir / "n.json", R"({
  "name": "userns-names",
  "server": { "on": "server", "port": 8080, "behavior": "respond", "close": "after-response" },
  "client": { "on": "client", "connect": "server:8080",
              "workload": { "kind": "command", "command": ["sh", "-c", "getent hosts server && curl -sS -o /dev/null http://server:{port}/"] } },
  "deadline": "8s"
})");
  int status = -1;
  std::string out = sh("unshare -Urn " + std::string(SOCKCHAOS_CLI) + " run " + (dir / "n.json").string() + " -o " +
                           (dir / "out").string() + " 2>&1",
                       &status);
  EXPECT_EQ(status, 0) << out;
  json r = json::parse(read_text(dir / "out" / "results.json"), nullptr, false);
  ASSERT_FALSE(r.is_discarded()) << out;
  json run = r["scenarios"][0]["cells"][0]["runs"][0];
  EXPECT_EQ(run["command"]["exit"], 0) << run.dump(2);
  EXPECT_NE(run["command"]["stdout"].get<std::string>().find("198.18.0.2"), std::string::npos);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
