// The record -> results step on synthetic records: no root, no kernel, exact numbers.
#include <gtest/gtest.h>

#include <cmath>

#include "harness/metrics/mechanism.hpp"
#include "harness/metrics/metrics.hpp"
#include "harness/metrics/stats.hpp"
#include "harness/model/load.hpp"
#include "harness/verdict/expectations.hpp"
#include "netns/census.hpp"
#include "scenario_test_util.hpp"

namespace sockchaos::harness {
namespace {

constexpr int64_t ms = kMillisecond;
constexpr int64_t T0 = 1'000'000 * ms;  // an arbitrary CLOCK_MONOTONIC origin

Scenario scenario_of(const std::string& text) { return load_scenario_json(json::parse(text)); }

StateCounts counts(std::initializer_list<std::pair<const char*, int64_t>> states) {
  StateCounts c;
  for (const auto& [name, n] : states) c.by_state[static_cast<size_t>(tcp_state_from_name(name))] = n;
  return c;
}

CensusSample sample_at(int64_t t, StateCounts client, StateCounts server = {}) {
  return CensusSample{t, {{"client", client}, {"server", server}}, {}};
}

RunRecord base_record() {
  RunRecord r;
  r.hosts = {"client", "server"};
  r.t_start = T0;
  r.base = T0 + 2 * ms;  // ready
  return r;
}

// What lets the settle end on one sample: every state but LISTEN and TIME_WAIT means a connection
// is open or on its way in or out (a segment may still be in flight), so the counts could move.
TEST(SettleRest, OnlyListenersAndTimeWaitAreAtRest) {
  EXPECT_TRUE(counts({}).only_listening_or_time_wait());
  EXPECT_TRUE(counts({{"LISTEN", 1}, {"TIME_WAIT", 20000}}).only_listening_or_time_wait());
  EXPECT_TRUE(counts({{"TIME_WAIT", 1}}).only_listening_or_time_wait());
  for (int st = 1; st < kTcpStateCount; ++st) {
    if (st == kTcpListen || st == kTcpTimeWait) continue;
    StateCounts c = counts({{"LISTEN", 1}, {"TIME_WAIT", 3}});
    c.by_state[static_cast<size_t>(st)] = 1;
    EXPECT_FALSE(c.only_listening_or_time_wait()) << tcp_state_name(st) << " is not at rest";
  }
  EXPECT_STREQ(tcp_state_name(kTcpListen), "LISTEN");
  EXPECT_STREQ(tcp_state_name(kTcpTimeWait), "TIME_WAIT");
}

TEST(Percentiles, NearestRankAndMedian) {
  std::vector<double> v{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(percentile_sorted(v, 50), 5);
  EXPECT_EQ(percentile_sorted(v, 99), 10);
  EXPECT_EQ(percentile_sorted(v, 90), 9);
  EXPECT_EQ(percentile_sorted(v, 0), 1);
  EXPECT_TRUE(std::isnan(percentile_sorted({}, 50)));
  EXPECT_EQ(median_sorted({1, 2, 3, 4}), 2.5);
  EXPECT_EQ(median_sorted({7}), 7);
}

TEST(Metrics, DetectionCountsFromTheFirstFaultToTheFailingCall) {
  Scenario s = scenario_of(R"({"name": "m", "client": {"workload": {"kind": "stream"}, "socket": {"tcp_user_timeout": "2s"}},
                               "faults": [{"kind": "blackhole", "at": "500ms"}]})");
  RunRecord r = base_record();
  r.first_fault = r.base + 500 * ms + 123'456;
  r.client_error = {r.first_fault + 2'234'567'890, "send", "ETIMEDOUT", std::nullopt};
  r.workload_end = r.client_error.t;
  RunResult out = measure_run(r, s);
  EXPECT_EQ(out.outcome, Outcome::detected);
  ASSERT_TRUE(out.detection_ms);
  EXPECT_DOUBLE_EQ(*out.detection_ms, 2234.6);  // 0.1 ms resolution
  EXPECT_EQ(out.detection_origin, DetectionOrigin::fault);
  EXPECT_FALSE(out.before_fault);
  EXPECT_EQ(out.error, "ETIMEDOUT");
  EXPECT_EQ(out.mechanism, Mechanism::tcp_user_timeout);
  EXPECT_DOUBLE_EQ(*out.fault_ms, 500.1);
  EXPECT_DOUBLE_EQ(out.deadline_ms, 60000);
}

TEST(Metrics, AnErrorBeforeTheFaultCountsFromTheStartAndFailsDetectedWithin) {
  Scenario s = scenario_of(R"({"name": "m", "faults": [{"kind": "blackhole", "at": "5s"}],
                               "expect": [{"detected_within": "10s"}, {"error": "ECONNRESET"}]})");
  RunRecord r = base_record();
  r.client_error = {r.base + 1200 * ms, "recv", "ECONNRESET", std::nullopt};
  r.first_fault = r.base + 5000 * ms;
  RunResult out = measure_run(r, s);
  EXPECT_EQ(out.detection_origin, DetectionOrigin::start);
  EXPECT_TRUE(out.before_fault);
  EXPECT_DOUBLE_EQ(*out.detection_ms, 1200);
  auto checks = evaluate_expectations(expand_cells(s).at(0), {out});
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_FALSE(checks[0].passed) << checks[0].detail;  // nothing measured the fault
  EXPECT_NE(checks[0].detail.find("before the first fault"), std::string::npos) << checks[0].detail;
  EXPECT_TRUE(checks[1].passed);  // the errno is still what it is
}

TEST(Metrics, AnErrorInsideTheFaultsCommitCameAfterTheFault) {
  // A RST rule acts inside the commit call; the client's read returned ECONNRESET 3 ms before
  // the orchestrator, descheduled, read the clock after the commit (seen on a loaded machine).
  Scenario s = scenario_of(R"({"name": "m", "faults": [{"kind": "reject", "with": "tcp-reset", "at": "300ms"}],
                               "expect": [{"detected_within": "1s"}]})");
  RunRecord r = base_record();
  r.first_fault_began = r.base + 300 * ms;
  r.first_fault = r.base + 306 * ms;
  r.client_error = {r.base + 303 * ms, "recv", "ECONNRESET", std::nullopt};
  RunResult out = measure_run(r, s);
  EXPECT_EQ(out.detection_origin, DetectionOrigin::fault);
  EXPECT_FALSE(out.before_fault);
  EXPECT_DOUBLE_EQ(*out.detection_ms, 3.0);  // from the commit's start: an upper bound
  EXPECT_TRUE(evaluate_expectations(expand_cells(s).at(0), {out}).at(0).passed);
  // Before the commit began it is still an error before the fault.
  r.client_error.t = r.base + 299 * ms;
  out = measure_run(r, s);
  EXPECT_TRUE(out.before_fault);
  EXPECT_EQ(out.detection_origin, DetectionOrigin::start);
  // After the install time it counts from the install time, as always.
  r.client_error.t = r.base + 320 * ms;
  out = measure_run(r, s);
  EXPECT_DOUBLE_EQ(*out.detection_ms, 14.0);
}

TEST(Metrics, AProbeIsDetectedWhenItsFailingCallReturnsNotWhenItStarts) {
  // SYNs blackholed from the start, TCP_SYNCNT 1: the connect() returns ETIMEDOUT 3 s later.
  Scenario s = scenario_of(R"({"name": "m", "client": {"workload": {"kind": "probe", "count": 1}, "socket": {"syn_count": 1}},
                               "faults": [{"kind": "blackhole", "at": "0s", "match": {"tcp_flags": "syn"}}]})");
  RunRecord r = base_record();
  r.first_fault = T0 - 1 * ms;  // installed before the client started
  r.base = T0 + 1 * ms;         // the probe loop's start
  r.probes.push_back({T0 + 1 * ms + 100'000, -1, "ETIMEDOUT", T0 + 1 * ms + 3'070 * ms});
  RunResult out = measure_run(r, s);
  EXPECT_EQ(out.outcome, Outcome::detected);
  EXPECT_DOUBLE_EQ(*out.detection_ms, 3072.0);
  EXPECT_EQ(out.syscall, "connect");
  EXPECT_EQ(out.mechanism, Mechanism::syn_retries);
  EXPECT_EQ(out.probes.attempted, 1);
  EXPECT_EQ(out.probes.failures(), 1);
}

TEST(Metrics, ProbesBeforeTheFaultDoNotCount) {
  Scenario s = scenario_of(R"({"name": "m", "client": {"workload": {"kind": "probe", "count": 3}},
                               "faults": [{"kind": "reject", "at": "1s"}]})");
  RunRecord r = base_record();
  r.first_fault = r.base + 1000 * ms;
  r.probes = {{r.base, -1, "ECONNREFUSED", r.base + 1 * ms},  // a failure before the fault
              {r.base + 500 * ms, 80'000, "", r.base + 501 * ms},
              {r.base + 1100 * ms, -1, "ECONNREFUSED", r.base + 1100 * ms + 300'000}};
  RunResult out = measure_run(r, s);
  EXPECT_DOUBLE_EQ(*out.detection_ms, 100.3);
  EXPECT_EQ(out.detection_origin, DetectionOrigin::fault);
  EXPECT_EQ(out.mechanism, Mechanism::refused);
  ASSERT_EQ(out.probes.failed.size(), 1u);
  EXPECT_EQ(out.probes.failed[0], (std::pair<std::string, int64_t>{"ECONNREFUSED", 2}));
  ASSERT_TRUE(out.probes.connect_ms);
  EXPECT_DOUBLE_EQ(out.probes.connect_ms->p50, 0.08);
  ASSERT_TRUE(out.probes.per_second);
  EXPECT_DOUBLE_EQ(*out.probes.per_second, 1.8);  // 2 intervals over 1.1 s
}

TEST(Metrics, RequestPhasesAroundTheFaultWindow) {
  Scenario s = scenario_of(R"({"name": "m", "client": {"workload": {"kind": "request", "duration": "3s"}},
                               "faults": [{"kind": "blackhole", "at": "1s", "until": "2s"}]})");
  RunRecord r = base_record();
  r.first_fault = r.base + 1000 * ms;
  r.faults = {{"blackhole on server (both)", r.first_fault, r.base + 2000 * ms, 0, {}}};
  for (int i = 0; i < 10; ++i) r.requests.push_back({r.base + i * 100 * ms, (i + 1) * ms, "", 0});  // before: 1..10 ms
  r.requests.push_back({r.base + 1500 * ms, -1, "app_timeout", 0});                                     // during
  for (int i = 0; i < 4; ++i) r.requests.push_back({r.base + 2100 * ms + i * 10 * ms, 2 * ms, "", 0});  // after
  RunResult out = measure_run(r, s);
  ASSERT_TRUE(out.requests);
  ASSERT_EQ(out.requests->size(), 3u);
  const auto& before = (*out.requests)[0];
  EXPECT_EQ(before.phase, "before");
  EXPECT_EQ(before.requests, 10);
  EXPECT_DOUBLE_EQ(*before.p50_ms, 5);
  EXPECT_DOUBLE_EQ(*before.p99_ms, 10);
  EXPECT_DOUBLE_EQ(*before.mean_ms, 5.5);
  EXPECT_DOUBLE_EQ(before.tps, 10);  // 10 requests over the 1 s before the fault
  const auto& during = (*out.requests)[1];
  EXPECT_EQ(during.requests, 0);
  EXPECT_EQ(during.errors, 1);
  EXPECT_FALSE(during.p50_ms.has_value());
  EXPECT_EQ((*out.requests)[2].requests, 4);
  // The first failing request is the detection: 500 ms into the fault.
  EXPECT_DOUBLE_EQ(*out.detection_ms, 500);
  EXPECT_EQ(out.mechanism, Mechanism::app_timeout);
}

TEST(Metrics, PeaksAndClearingTimesPerHost) {
  Scenario s = scenario_of(R"({"name": "m", "client": {"workload": {"kind": "probe", "count": 10}}})");
  RunRecord r = base_record();
  r.workload_end = r.base + 100 * ms;
  r.samples = {sample_at(r.base, counts({{"ESTABLISHED", 1}})),
               sample_at(r.base + 100 * ms, counts({{"TIME_WAIT", 10}}), counts({{"CLOSE_WAIT", 2}})),
               sample_at(r.base + 60'100 * ms, counts({{"TIME_WAIT", 4}})),
               sample_at(r.base + 60'200 * ms, counts({}))};
  RunResult out = measure_run(r, s);
  const HostSockets* client = out.host_sockets("client");
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->peak_of("TIME_WAIT"), 10);
  EXPECT_EQ(client->peak_of("ESTABLISHED"), 1);
  EXPECT_EQ(client->census.samples, 4);
  ASSERT_TRUE(client->time_wait_cleared_ms);
  EXPECT_DOUBLE_EQ(*client->time_wait_cleared_ms, 60'100);
  const HostSockets* server = out.host_sockets("server");
  EXPECT_EQ(server->peak_of("CLOSE_WAIT"), 2);
  ASSERT_EQ(server->cleared_ms.size(), 1u);
  EXPECT_DOUBLE_EQ(*server->cleared_ms[0].second, 60'000);
}

TEST(Metrics, MissingCensusFailsSocketChecksClosed) {
  Scenario s = scenario_of(R"({"name": "m", "client": {"workload": {"kind": "probe", "count": 10}},
                               "expect": [{"time_wait_max": 0}, {"states_max": {"CLOSE_WAIT": 0}, "host": "server"},
                                          {"time_wait_min": 1}]})");
  RunRecord r = base_record();
  r.workload_end = r.base + 100 * ms;
  // The client's census never worked; the server's failed once.
  r.samples = {CensusSample{r.base, {{"server", counts({})}}, {}}, CensusSample{r.base + 100 * ms, {}, {}}};
  r.census_failures = {{r.base, "client", "inet_diag dump: busy"},
                       {r.base + 100 * ms, "client", "inet_diag dump: busy"},
                       {r.base + 100 * ms, "server", "inet_diag dump: busy"}};
  RunResult out = measure_run(r, s);
  EXPECT_EQ(out.host_sockets("client")->census.samples, 0);
  EXPECT_EQ(out.host_sockets("client")->census.errors, 2);
  auto checks = evaluate_expectations(expand_cells(s).at(0), {out});
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_FALSE(checks[0].passed);
  EXPECT_NE(checks[0].detail.find("no data"), std::string::npos) << checks[0].detail;
  EXPECT_FALSE(checks[1].passed);  // an upper bound with a lost sample cannot hold
  EXPECT_NE(checks[1].detail.find("failed 1 time"), std::string::npos) << checks[1].detail;
  EXPECT_FALSE(checks[2].passed);
}

TEST(Metrics, AFailedRunKeepsWhatWasRecorded) {
  Scenario s = scenario_of(R"({"name": "m"})");
  RunRecord r = base_record();
  r.samples = {sample_at(r.base, counts({{"ESTABLISHED", 1}}))};
  r.events = {{r.base + 5 * ms, "client-start", ""}};
  r.failure = "client agent exited unexpectedly (status 139)";
  RunResult out = measure_run(r, s);
  EXPECT_EQ(out.outcome, Outcome::error);
  EXPECT_EQ(out.error_detail, "client agent exited unexpectedly (status 139)");
  EXPECT_FALSE(out.detection_ms);
  EXPECT_EQ(out.timeline.size(), 2u);
  auto checks = evaluate_expectations(expand_cells(scenario_of(R"({"name": "m", "expect": [{"undetected": true}]})")).at(0), {out});
  EXPECT_FALSE(checks.at(0).passed);
  EXPECT_EQ(checks.at(0).detail, "client agent exited unexpectedly (status 139)");
}

TEST(Metrics, ServerSideFailuresAndAccepts) {
  Scenario s = scenario_of(R"({"name": "m", "faults": [{"kind": "blackhole", "on": "client", "at": "1s"}]})");
  RunRecord r = base_record();
  r.first_fault = r.base + 1000 * ms;
  r.accepts = {{r.base - 1 * ms, 1}};
  AgentEvent before, after;
  before.kind = after.kind = AgentEventKind::conn_error;
  before.t = r.base + 10 * ms;
  before.syscall = "recv";
  before.error = "ECONNRESET";
  after.t = r.first_fault + 4'100 * ms;
  after.syscall = "poll";
  after.error = "ETIMEDOUT";
  r.server_errors = {before, after};
  RunResult out = measure_run(r, s);
  EXPECT_EQ(out.server.accepted, 1);
  EXPECT_DOUBLE_EQ(*out.server.first_accept_ms, -1);
  ASSERT_EQ(out.server.errors.size(), 2u);
  ASSERT_TRUE(out.server.detection_ms);
  EXPECT_DOUBLE_EQ(*out.server.detection_ms, 4100);  // the first failure after the fault
  EXPECT_EQ(out.server.error, "ETIMEDOUT");
}

TEST(Metrics, TimelineInTimeOrderWithSamplesAndEvents) {
  Scenario s = scenario_of(R"({"name": "m"})");
  RunRecord r = base_record();
  r.samples = {sample_at(r.base + 10 * ms, counts({{"ESTABLISHED", 1}})), sample_at(r.base + 30 * ms, counts({}))};
  r.events = {{r.base + 20 * ms, "fault", "blackhole on server (both)"}, {r.base, "ready", ""}};
  RunResult out = measure_run(r, s);
  ASSERT_EQ(out.timeline.size(), 4u);
  EXPECT_EQ(out.timeline[0].event, "ready");
  EXPECT_TRUE(out.timeline[1].is_sample());
  EXPECT_EQ(out.timeline[2].event, "fault");
  EXPECT_DOUBLE_EQ(out.timeline[2].t_ms, 20);
  ASSERT_TRUE(out.timeline[3].sockets);
  EXPECT_EQ((*out.timeline[3].sockets)[0].second.size(), 0u);  // a host with no sockets: no states listed
}

TEST(Mechanism, FromErrnoSyscallAndOptions) {
  Scenario idle_ka = scenario_of(
      R"({"name": "m", "client": {"socket": {"keepalive": {"idle": "1s", "interval": "1s", "count": 3}}}})");
  EXPECT_EQ(infer_mechanism("ETIMEDOUT", "recv", idle_ka), Mechanism::keepalive);
  Scenario idle_ka_ut = scenario_of(R"({"name": "m", "client": {"socket": {"keepalive": {"idle": "1s", "interval": "1s", "count": 3},
                                       "tcp_user_timeout": "2s"}}})");
  EXPECT_EQ(infer_mechanism("ETIMEDOUT", "recv", idle_ka_ut), Mechanism::tcp_user_timeout);
  Scenario busy = scenario_of(R"({"name": "m", "client": {"workload": {"kind": "stream"}}})");
  EXPECT_EQ(infer_mechanism("ETIMEDOUT", "send", busy), Mechanism::tcp_retries2);
  EXPECT_EQ(infer_mechanism("ETIMEDOUT", "connect", busy), Mechanism::syn_retries);
  Scenario raw_ut = scenario_of(R"({"name": "m", "client": {"workload": {"kind": "stream"},
                                   "socket": {"raw": [{"level": 6, "name": 18, "int": 2000}]}}})");
  EXPECT_EQ(client_user_timeout_ns(raw_ut), 2000 * ms);
  EXPECT_EQ(infer_mechanism("ETIMEDOUT", "send", raw_ut), Mechanism::tcp_user_timeout);
  EXPECT_EQ(infer_mechanism("EAGAIN", "recv", busy), Mechanism::rcvtimeo);
  EXPECT_EQ(infer_mechanism("EAGAIN", "send", busy), Mechanism::sndtimeo);
  EXPECT_EQ(infer_mechanism("ECONNRESET", "recv", busy), Mechanism::rst);
  EXPECT_EQ(infer_mechanism("EOF", "recv", busy), Mechanism::fin);
  EXPECT_EQ(infer_mechanism("EADDRNOTAVAIL", "connect", busy), Mechanism::port_exhaustion);
  EXPECT_EQ(infer_mechanism("exit:28", "exit", busy), Mechanism::exit);
  // Keepalive values the socket leaves out come from the client host's sysctls.
  Scenario from_sysctl = scenario_of(R"({"name": "m", "hosts": {"client": {"sysctl": {"net.ipv4.tcp_keepalive_time": 2,
      "net.ipv4.tcp_keepalive_intvl": 1, "net.ipv4.tcp_keepalive_probes": 2}}, "server": {}},
      "client": {"socket": {"keepalive": "on", "tcp_user_timeout": "5s"}}})");
  EXPECT_EQ(infer_mechanism("ETIMEDOUT", "recv", from_sysctl), Mechanism::keepalive);  // 4 s < 5 s
}

TEST(Expectations, ClearedLimitsLongerThanTheObservationAreRefused) {
  auto issues = testing::issues_of(R"({"name": "x", "observe": "30s",
      "expect": [{"time_wait_cleared_after": "60s"}, {"time_wait_cleared_within": "20s"}]})");
  const InputIssue* i = testing::find_issue(issues, "/expect/0/time_wait_cleared_after");
  ASSERT_NE(i, nullptr) << testing::dump_issues(issues);
  EXPECT_NE(i->message.find("cannot be judged"), std::string::npos) << i->message;
  EXPECT_EQ(testing::find_issue(issues, "/expect/1/time_wait_cleared_within"), nullptr) << testing::dump_issues(issues);
}

}  // namespace
}  // namespace sockchaos::harness

// The /proc/net/{netstat,snmp} parser tcp_counters uses: pairs of name and value rows, only the
// Tcp and TcpExt ones kept, negative values (Tcp MaxConn is -1), a row without its values at the
// end ignored.
TEST(TcpCounters, ParsesTheTcpAndTcpExtRowsOfProcNetText) {
  std::map<std::string, int64_t> out;
  sockchaos::netns::parse_tcp_counter_rows(
      "Ip: Forwarding DefaultTTL InReceives\n"
      "Ip: 2 64 4689\n"
      "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens OutRsts\n"
      "Tcp: 1 200 120000 -1 150 7\n"
      "Udp: InDatagrams NoPorts\n"
      "Udp: 3 4\n",
      out);
  sockchaos::netns::parse_tcp_counter_rows(
      "TcpExt: SyncookiesSent TW TCPAbortOnData\n"
      "TcpExt: 0 12 3\n"
      "IpExt: InNoRoutes\n"
      "IpExt: 9\n"
      "MPTcpExt: MPCapableSYNRX\n",
      out);
  const std::map<std::string, int64_t> want{{"Tcp.RtoAlgorithm", 1}, {"Tcp.RtoMin", 200},   {"Tcp.RtoMax", 120000},
                                            {"Tcp.MaxConn", -1},     {"Tcp.ActiveOpens", 150}, {"Tcp.OutRsts", 7},
                                            {"TcpExt.SyncookiesSent", 0}, {"TcpExt.TW", 12}, {"TcpExt.TCPAbortOnData", 3}};
  EXPECT_EQ(out, want);
  // Rows whose prefixes differ (a torn read) are not paired up.
  std::map<std::string, int64_t> torn;
  sockchaos::netns::parse_tcp_counter_rows("Tcp: ActiveOpens\nUdp: 5\n", torn);
  EXPECT_TRUE(torn.empty());
}
