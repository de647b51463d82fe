// The shipped gallery (scenarios/gallery/): real programs from Debian's packages, run as a user
// would, from the gallery's own folder by relative path (`cd scenarios/gallery && sockchaos run
// .`). Each test asserts its scenario's documented finding with bounds from the kernel's rules
// (HZ=250: a timer under 2 s fires up to 32 ms late, one of 2-16 s up to 256 ms late); a cell
// whose program is missing is skipped by sockchaos, and the test skips with its reason (the
// apt-get command). The machine's /etc/hosts is the same before and after.
#include <nlohmann/json.hpp>

#include "support.hpp"

using nlohmann::json;
using sockchaos::testing::read_text;
using sockchaos::testing::sh;

namespace {

class Gallery : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!sockchaos::testing::missing_features().empty()) return;
    dir_ = sockchaos::testing::make_temp_dir("gallery");
    hosts_before_ = read_text("/etc/hosts");
    sh("cd " + std::string(SOCKCHAOS_SCENARIO_DIR) + "/gallery && " + SOCKCHAOS_CLI + " run . -o " + (dir_ / "out").string() +
           " > " + (dir_ / "stdout.txt").string() + " 2> " + (dir_ / "stderr.txt").string(),
       &exit_code_);
    hosts_after_ = read_text("/etc/hosts");
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

  // The first run of a cell, or nullopt (the test skips) when sockchaos skipped it.
  static json cell(const std::string& scenario, const std::string& id) {
    for (const auto& s : results_["scenarios"])
      if (s["name"] == scenario)
        for (const auto& c : s["cells"])
          if (c["id"] == id) return c;
    ADD_FAILURE() << "no cell " << scenario << "/" << id << " in the results";
    return json::object();
  }
  static std::string skipped_reason(const json& c) {
    if (!c.contains("runs") || c["runs"].empty()) return "no runs";
    const json& r = c["runs"][0];
    return r.value("outcome", "") == "skipped" ? r.value("error_detail", "skipped") : "";
  }
  static int64_t peak(const json& run, const std::string& host, const std::string& state) {
    const json& p = run["sockets"][host]["peak"];
    return p.contains(state) ? p[state].get<int64_t>() : 0;
  }
  static int64_t counter(const json& run, const std::string& host, const std::string& name) {
    const json& c = run["tcp_counters"][host];
    return c.contains(name) ? c[name].get<int64_t>() : 0;
  }
  static double detection(const json& run) { return run.value("detection_ms", -1.0); }

  static std::filesystem::path dir_;
  static json results_;
  static int exit_code_;
  static std::string hosts_before_, hosts_after_;
};

std::filesystem::path Gallery::dir_;
json Gallery::results_;
int Gallery::exit_code_ = -1;
std::string Gallery::hosts_before_, Gallery::hosts_after_;

#define RUN_OF(var, scenario, id)                                       \
  const json var##_cell = cell(scenario, id);                           \
  if (const std::string why = skipped_reason(var##_cell); !why.empty()) \
    GTEST_SKIP() << scenario << ": " << why;                            \
  const json var = var##_cell["runs"][0]

}  // namespace

// Each failed expectation on a line (scenario/cell: check: detail), first in a failure message
// (CI output keeps only the head and tail of a long table).
static std::string failed_expectations(const json& results) {
  std::string out;
  for (const auto& s : results["scenarios"])
    for (const auto& c : s["cells"])
      for (const auto& e : c.value("expectations", json::array()))
        if (!e.value("passed", false))
          out += s.value("name", "?") + "/" + c.value("id", "?") + ": " + e.value("check", "?") + ": " + e.value("detail", "") + "\n";
  return out;
}

TEST_F(Gallery, EveryExpectationHeldAndTheMachinesHostsFileIsUntouched) {
  EXPECT_EQ(exit_code_, 0) << "failed expectations:\n"
                           << failed_expectations(results_) << read_text(dir_ / "stdout.txt") << read_text(dir_ / "stderr.txt");
  EXPECT_EQ(hosts_before_, hosts_after_);
  EXPECT_EQ(hosts_after_.find("198.18."), std::string::npos);
  for (const auto& s : results_["scenarios"])
    for (const auto& c : s["cells"])
      for (const auto& r : c["runs"]) EXPECT_NE(r.value("outcome", ""), "error") << s["name"] << "/" << c["id"] << ": " << r.dump();
}

// nginx reverse proxy, 200 HTTP/1.0 requests (one connection each). Every client-side
// connection leaves its TIME_WAIT on the proxy or on the client (both on a simultaneous close).
TEST_F(Gallery, NginxHoldsTimeWaitOnBothSidesUntilUpstreamKeepalive) {
  RUN_OF(plain, "nginx-proxy", "nginx.conf={dir}/nginx-proxy.conf.in");
  RUN_OF(keepalive, "nginx-proxy", "nginx.conf={dir}/nginx-proxy-keepalive.conf.in");
  for (const json* r : {&plain, &keepalive}) {
    EXPECT_EQ((*r)["probes"]["succeeded"], 200) << r->dump();
  }
  EXPECT_EQ(peak(plain, "server", "TIME_WAIT"), 0);  // the origin never closes first
  // Keepalive: the pooled upstream connections (keepalive 16) stay open until the cell's
  // processes stop, when the origin may close some first.
  EXPECT_LE(peak(keepalive, "server", "TIME_WAIT"), 16);
  // Default: one upstream TIME_WAIT per request on the proxy (nginx closes every upstream
  // connection, the origin never does), plus client-side ones: nginx usually closes first, but
  // which end does is a race per connection, and a client that closes with response bytes
  // still unread sends a RST (no TIME_WAIT on either end), so only "more than one per request".
  EXPECT_GT(peak(plain, "proxy", "TIME_WAIT"), 200);
  EXPECT_LE(peak(plain, "proxy", "TIME_WAIT"), 400);
  // Upstream keepalive: the upstream half is gone, at most one per request remains, plus the
  // (at most 16) pooled upstream connections nginx closes itself when it is stopped.
  EXPECT_LE(peak(keepalive, "proxy", "TIME_WAIT"), 216);
  EXPECT_LT(peak(keepalive, "proxy", "TIME_WAIT"), peak(plain, "proxy", "TIME_WAIT"));
}

TEST_F(Gallery, HaproxyNolingerTradesTimeWaitForResets) {
  RUN_OF(plain, "haproxy-nolinger", "haproxy.cfg={dir}/haproxy.cfg.in");
  RUN_OF(nolinger, "haproxy-nolinger", "haproxy.cfg={dir}/haproxy-nolinger.cfg.in");
  for (const json* r : {&plain, &nolinger}) {
    EXPECT_EQ((*r)["probes"]["succeeded"], 200) << r->dump();
    // Almost none on the origin: HAProxy resets its server connections (a race with the
    // origin's own close after its response leaves an occasional one).
    EXPECT_LE(peak(*r, "server", "TIME_WAIT"), 5);
    EXPECT_LE(peak(*r, "proxy", "TIME_WAIT"), 400);  // at most one per connection, both sides
  }
  EXPECT_GT(peak(plain, "proxy", "TIME_WAIT"), 0);
  EXPECT_LT(peak(nolinger, "proxy", "TIME_WAIT"), peak(plain, "proxy", "TIME_WAIT"));
  EXPECT_GT(counter(nolinger, "proxy", "Tcp.OutRsts"), counter(plain, "proxy", "Tcp.OutRsts"));
}

// tcp-keepalive 1: TCP_KEEPIDLE 1, TCP_KEEPINTVL 1, TCP_KEEPCNT 3: the server's RST 4 s after
// the handshake (four 1 s timers, each up to 32 ms late), seen in the server's capture.
TEST_F(Gallery, RedisKeepaliveDropsADeadIdleClient) {
  RUN_OF(on, "redis-keepalive", "8=1");
  RUN_OF(off, "redis-keepalive", "8=0");
  const json& cleared = on["sockets"]["server"]["cleared_ms"]["ESTABLISHED"];
  ASSERT_TRUE(cleared.is_number()) << on["sockets"].dump();
  // tcp-keepalive 0: still there when the 5 s observation ends (the cell's end stops Redis).
  const json& kept = off["sockets"]["server"]["cleared_ms"]["ESTABLISHED"];
  EXPECT_TRUE(kept.is_null() || kept.get<double>() >= 5000.0) << off["sockets"].dump();
  // From "ready" (just after the handshake): the workload's end + its clearing time; the
  // census backs off to 1 s while nothing changes.
  const double dropped = on["workload_end_ms"].get<double>() + cleared.get<double>();
  EXPECT_GE(dropped, 4000.0 - 20);
  EXPECT_LE(dropped, 4000.0 + 4 * 32 + 1000);
  if (sh("command -v tshark").empty()) GTEST_SKIP() << "needs tshark (the capture oracle): apt-get install tshark";
  const std::string pcap = (dir_ / "out" / on["capture"]["hosts"]["server"]["file"].get<std::string>()).string();
  // Seconds from the SYN to the server's RST.
  const std::string out = sh("tshark -r " + pcap +
                             " -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0 || tcp.srcport == 6379 && tcp.flags.reset == 1'"
                             " -T fields -e frame.time_relative 2>/dev/null");
  std::vector<double> t;
  for (size_t start = 0; start < out.size();) {
    const size_t end = out.find('\n', start);
    t.push_back(std::stod(out.substr(start, end - start)));
    start = end == std::string::npos ? out.size() : end + 1;
  }
  ASSERT_EQ(t.size(), 2u) << out;
  EXPECT_GE(t[1] - t[0], 4.0);
  EXPECT_LE(t[1] - t[0], 4.0 + 4 * 0.032 + 0.01);
}

TEST_F(Gallery, PostgresKeepaliveAndUserTimeoutBoundPsqlsWait) {
  const std::string base = "5=host=server port={port} user=postgres dbname=postgres";
  RUN_OF(plain, "postgres-keepalive", base);
  RUN_OF(keepalive, "postgres-keepalive", base + " keepalives_idle=1 keepalives_interval=1 keepalives_count=3");
  RUN_OF(both, "postgres-keepalive",
         base + " keepalives_idle=1 keepalives_interval=1 keepalives_count=3 tcp_user_timeout=1500");
  RUN_OF(user_timeout, "postgres-keepalive", base + " tcp_user_timeout=1500");
  EXPECT_EQ(plain["outcome"], "undetected") << plain.dump();
  EXPECT_EQ(user_timeout["outcome"], "undetected") << user_timeout.dump();
  // The first unanswered probe 0-1 s after the crash; 3 probes -> 3-4 s; with the user timeout
  // 2 intervals after the last answer -> 1-2 s. Four 1 s timers up to 32 ms late each.
  EXPECT_EQ(keepalive["error"], "exit:2") << keepalive.dump();
  EXPECT_GE(detection(keepalive), 3000.0);
  EXPECT_LE(detection(keepalive), 4000.0 + 4 * 32 + 50);
  EXPECT_EQ(both["error"], "exit:2") << both.dump();
  EXPECT_GE(detection(both), 1000.0);
  EXPECT_LE(detection(both), 2000.0 + 3 * 32 + 50);
  EXPECT_NE(both["command"]["stderr"].get<std::string>().find("server"), std::string::npos);
}

TEST_F(Gallery, JavaSoTimeoutThrowsAfterItsTimeoutTheKernelMuchLater) {
  RUN_OF(timeout, "java-sotimeout", "6=2000");
  RUN_OF(none, "java-sotimeout", "6=0");
  // SoTimeoutClient prints the failing call's own time ("... after 2002.3 ms", "... 3362.0 ms
  // after the request"); sockchaos's detection adds the pause before that read (<= 100 ms)
  // and the JVM's exit.
  auto printed_ms = [](const json& run, const std::string& before) {
    const std::string out = run["command"]["stdout"];
    const size_t at = out.find(before);
    return at == std::string::npos ? -1.0 : std::stod(out.substr(at + before.size()));
  };
  EXPECT_EQ(timeout["error"], "exit:3") << timeout.dump();
  EXPECT_GE(detection(timeout), 2000.0);
  // The read's timeout is a poll() timeout (an hrtimer, no timer-wheel slack): 2000 ms plus
  // the JVM's scheduling.
  const double read_ms = printed_ms(timeout, "SocketTimeoutException after ");
  EXPECT_GE(read_ms, 2000.0) << timeout.dump();
  EXPECT_LE(read_ms, 2100.0) << timeout.dump();
  // tcp_retries2 2: the limit (2^3 - 1) x 200 ms = 1.4 s counts from the first retransmission,
  // so the RTO timer 3.0 s after it is the one that gives up; in front of the first RTO the
  // kernel sends one tail loss probe (tcp_schedule_loss_probe, at most one RTO: 200 ms); five
  // timers under 2 s, each up to 32 ms late at HZ=250.
  EXPECT_EQ(none["error"], "exit:5") << none.dump();
  const double kernel_ms = printed_ms(none, "Connection timed out ");
  EXPECT_GE(kernel_ms, 3000.0) << none.dump();
  EXPECT_LE(kernel_ms, 3000.0 + 200 + 5 * 32 + 100) << none.dump();
  EXPECT_GT(detection(none), detection(timeout));
}

TEST_F(Gallery, GoSetLingerZeroLeavesNoTimeWait) {
  RUN_OF(plain, "go-linger", "8=default");
  RUN_OF(linger0, "go-linger", "8=0");
  EXPECT_EQ(plain["command"]["exit"], 0) << plain.dump();
  EXPECT_EQ(linger0["command"]["exit"], 0) << linger0.dump();
  EXPECT_EQ(peak(plain, "client", "TIME_WAIT"), 200);
  EXPECT_EQ(peak(linger0, "client", "TIME_WAIT"), 0);
  EXPECT_EQ(peak(plain, "server", "TIME_WAIT") + peak(linger0, "server", "TIME_WAIT"), 0);
  EXPECT_GE(counter(linger0, "client", "Tcp.OutRsts"), 200);
}

TEST_F(Gallery, GoKeepaliveDefaultIsThirtySecondsOfSilence) {
  RUN_OF(plain, "go-keepalive", "8=default");
  RUN_OF(fast, "go-keepalive", "8=1s");
  // Last packet ~ready, fault at ready + 1.5 s: ETIMEDOUT at +30 s (two 15 s timers, up to 256 ms
  // late each) and at +3 s (three 1 s timers, up to 32 ms late each).
  EXPECT_EQ(plain["error"], "exit:3") << plain.dump();
  EXPECT_GE(detection(plain), 28400.0);
  EXPECT_LE(detection(plain), 28500.0 + 2 * 256 + 90);
  EXPECT_EQ(fast["error"], "exit:3") << fast.dump();
  EXPECT_GE(detection(fast), 1400.0);
  EXPECT_LE(detection(fast), 1500.0 + 3 * 32 + 90);
}
