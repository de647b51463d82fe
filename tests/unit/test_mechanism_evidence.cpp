// Mechanism from evidence (harness/metrics/mechanism_evidence.hpp): what was observed decides,
// the configured guess (the kernel model's mechanism) only stands when nothing was observed.
#include <gtest/gtest.h>

#include "harness/metrics/kernel_model.hpp"
#include "harness/metrics/mechanism_evidence.hpp"
#include "harness/model/load.hpp"

namespace sockchaos::harness {
namespace {

const KernelEnvironment& env() {
  static const KernelEnvironment e = KernelEnvironment::linux_defaults();
  return e;
}

Model model_of(const std::string& text) { return predict_detection(load_scenario_json(json::parse(text)), env()); }

Model idle_keepalive_model(const std::string& extra_socket) {
  return model_of(R"({"name": "idle", "server": {"behavior": "echo"},
    "client": {"workload": {"kind": "idle"},
               "socket": {"keepalive": {"idle": "1s", "interval": "1s", "count": 3})" +
                  extra_socket + R"(}},
    "faults": [{"kind": "blackhole", "on": "server", "at": "1500ms"}], "deadline": "30s"})");
}

Model busy_model(const std::string& ut) {
  return model_of(R"({"name": "busy", "server": {"behavior": "sink"},
    "client": {"workload": {"kind": "stream", "rate": "100KiB/s"}, "socket": {"tcp_user_timeout": ")" +
                  ut + R"("}},
    "hosts": {"client": {"sysctl": {"net.ipv4.tcp_retries2": 3}}, "server": {}},
    "faults": [{"kind": "blackhole", "on": "server", "at": "500ms"}], "deadline": "20s"})");
}

TEST(MechanismEvidence, KeepaliveWithALongerUserTimeoutIsTheUserTimeout) {
  // 1/1/3 + TCP_USER_TIMEOUT 10 s: the configuration guess (UT >= idle + cnt x intvl) would be
  // "keepalive"; the capture shows 9 unanswered probes, past TCP_KEEPCNT.
  const Model model = idle_keepalive_model(R"(, "tcp_user_timeout": "10s")");
  ObservedEvidence ev;
  ev.keepalive_probes_sent = 9;
  ev.keepalive_probes_answered = 0;
  const auto r = mechanism_from_evidence("ETIMEDOUT", "recv", 9500, model, ev);
  EXPECT_EQ(r.mechanism, "tcp_user_timeout");
  EXPECT_TRUE(r.evidence_available);
  EXPECT_EQ(r.basis,
            "9 keepalive probes sent after the last answer, none answered; TCP_USER_TIMEOUT 10 s since the last answer ended it "
            "(TCP_KEEPCNT 3 ignored once a user timeout is set)");
  // A model built from a wrong configured guess ("keepalive") disagrees with the evidence.
  Model guessed = model;
  guessed.mechanism = "keepalive";
  EXPECT_FALSE(mechanism_from_evidence("ETIMEDOUT", "recv", 9500, guessed, ev).agrees_with_configuration);
}

TEST(MechanismEvidence, PlainKeepalive) {
  const Model model = idle_keepalive_model("");
  ObservedEvidence ev;
  ev.keepalive_probes_sent = 3;
  ev.counters["TcpExt.TCPAbortOnTimeout"] = 1;
  const auto r = mechanism_from_evidence("ETIMEDOUT", "recv", 3600, model, ev);
  EXPECT_EQ(r.mechanism, "keepalive");
  EXPECT_TRUE(r.agrees_with_configuration);
  EXPECT_EQ(r.basis,
            "3 keepalive probes sent after the last answer, none answered; TCP_KEEPCNT 3 unanswered probes ended it; TCPAbortOnTimeout 1");
  // From the namespace counter alone.
  ObservedEvidence counters;
  counters.counters["TcpExt.TCPKeepAlive"] = 3;
  EXPECT_EQ(mechanism_from_evidence("ETIMEDOUT", "recv", 3600, model, counters).mechanism, "keepalive");
}

TEST(MechanismEvidence, MoreProbesThanKeepcntWithoutAConfiguredUserTimeout) {
  // The application set TCP_USER_TIMEOUT itself: the evidence wins over the configuration.
  const Model model = idle_keepalive_model("");
  ObservedEvidence ev;
  ev.keepalive_probes_sent = 7;
  const auto r = mechanism_from_evidence("ETIMEDOUT", "recv", 7500, model, ev);
  EXPECT_EQ(r.mechanism, "tcp_user_timeout");
  EXPECT_FALSE(r.agrees_with_configuration);
  EXPECT_NE(r.basis.find("went past TCP_KEEPCNT"), std::string::npos) << r.basis;
}

TEST(MechanismEvidence, UserTimeoutVersusRetries2FromTheRetransmissions) {
  // UT 2 s: retransmissions at +212, +620, +1436 ms; ETIMEDOUT at 2212 = 2 s after the first.
  ObservedEvidence ev;
  ev.data_retransmissions_ms = {212, 620, 1436};
  ev.retransmitted_seq = 1448;
  const auto ut = mechanism_from_evidence("ETIMEDOUT", "send", 2230, busy_model("2s"), ev);
  EXPECT_EQ(ut.mechanism, "tcp_user_timeout");
  EXPECT_TRUE(ut.agrees_with_configuration);
  EXPECT_EQ(
      ut.basis,
      "3 retransmissions of seq 1448, backoff 408 -> 816 ms; TCP_USER_TIMEOUT 2 s counted from the first at +212 ms "
      "(ended 2018 ms after it)");
  // No user timeout, tcp_retries2 3: five retransmissions, death 6120 ms after the first.
  ObservedEvidence r2;
  r2.data_retransmissions_ms = {212, 620, 1436, 3068, 6332};
  const auto byr2 = mechanism_from_evidence("ETIMEDOUT", "send", 212 + 6150, busy_model("off"), r2);
  EXPECT_EQ(byr2.mechanism, "tcp_retries2");
  EXPECT_NE(byr2.basis.find("tcp_retries2 3 (budget 3 s) counted from the first at +212 ms"), std::string::npos)
      << byr2.basis;
  // A user timeout was configured but the time fits tcp_retries2, not it: the option did not
  // take effect, and the evidence says so.
  const auto contradicted = mechanism_from_evidence("ETIMEDOUT", "send", 212 + 6150, busy_model("2s"), r2);
  EXPECT_EQ(contradicted.mechanism, "tcp_retries2");
  EXPECT_FALSE(contradicted.agrees_with_configuration);
  EXPECT_NE(contradicted.basis.find("does not fit"), std::string::npos) << contradicted.basis;
}

TEST(MechanismEvidence, TcpInfoAloneKeepsTheConfiguredLimitAndSaysWhatItSaw) {
  ObservedEvidence ev;
  ev.tcp_info.retransmits = 4;
  ev.tcp_info.backoff = 4;
  ev.tcp_info.rto_ms = 3264;
  const auto r = mechanism_from_evidence("ETIMEDOUT", "send", 2230, busy_model("2s"), ev);
  EXPECT_EQ(r.mechanism, "tcp_user_timeout");
  EXPECT_EQ(r.basis.rfind("tcp_info: 4 retransmissions, backoff 4, rto 3264 ms", 0), 0u) << r.basis;
}

TEST(MechanismEvidence, ZeroWindowProbes) {
  const Model model = model_of(R"({"name": "zw", "server": {"behavior": "stall"},
    "client": {"workload": {"kind": "stream", "rate": "10MiB/s"}, "socket": {"tcp_user_timeout": "1s"}}, "deadline": "8s"})");
  ObservedEvidence ev;
  ev.zero_window_probes = 3;
  ev.first_window_probe_ms = 312;
  const auto r = mechanism_from_evidence("ETIMEDOUT", "send", 1330, model, ev);
  EXPECT_EQ(r.mechanism, "tcp_user_timeout");
  EXPECT_NE(r.basis.find("3 zero-window probes, answered with window 0; the first at +312 ms"), std::string::npos)
      << r.basis;
}

TEST(MechanismEvidence, RstAfterTheHeal) {
  Model model;
  for (const auto& cell : expand_cells(load_scenario_file(SOCKCHAOS_SCENARIO_DIR "/node-crash-under-load.json")))
    if (cell.id == "app_timeout=off") model = predict_detection(cell.scenario, env());
  ASSERT_EQ(model.mechanism, "rst");
  ObservedEvidence ev;
  ev.heal_ms = 2000;
  ev.rst_received_ms = 2000.4;
  const auto r = mechanism_from_evidence("ECONNRESET", "recv", 3350, model, ev);
  EXPECT_EQ(r.mechanism, "rst");
  EXPECT_EQ(r.basis, "RST received 0.4 ms after the heal");
  EXPECT_TRUE(r.agrees_with_configuration);
}

TEST(MechanismEvidence, NoEvidenceKeepsTheConfiguredGuessAndSaysSo) {
  const auto r = mechanism_from_evidence("ETIMEDOUT", "send", 2230, busy_model("2s"), ObservedEvidence{});
  EXPECT_EQ(r.mechanism, "tcp_user_timeout");
  EXPECT_FALSE(r.evidence_available);
  EXPECT_TRUE(r.agrees_with_configuration);
  EXPECT_EQ(r.basis, "no packet or tcp_info evidence; inferred from errno ETIMEDOUT (send) and the options");
  // Without a model either: the errno alone.
  const auto bare = mechanism_from_evidence("ETIMEDOUT", "connect", std::nullopt, Model{}, ObservedEvidence{});
  EXPECT_EQ(bare.mechanism, "syn_retries");
}

TEST(MechanismEvidence, SynRetransmissionsAndIcmp) {
  const Model model = model_of(R"({"name": "syn", "client": {"workload": {"kind": "idle"}, "socket": {"syn_count": 1}},
    "faults": [{"kind": "blackhole", "on": "server", "at": "0s"}], "deadline": "20s"})");
  ObservedEvidence syn;
  syn.syn_retransmissions = 2;
  const auto s = mechanism_from_evidence("ETIMEDOUT", "connect", 3070, model, syn);
  EXPECT_EQ(s.mechanism, "syn_retries");
  EXPECT_EQ(
      s.basis,
      "2 SYN retransmissions and no SYN-ACK; TCP_SYNCNT/tcp_syn_retries 1 (tcp_syn_linear_timeouts 4) ended connect()");
  ObservedEvidence icmp;
  icmp.icmp_errors = {"host-unreachable", "host-unreachable"};
  icmp.data_retransmissions_ms = {212, 620};
  const auto i = mechanism_from_evidence("EHOSTUNREACH", "send", 2230, busy_model("2s"), icmp);
  EXPECT_EQ(i.mechanism, "icmp");
  EXPECT_NE(i.basis.find("2 ICMP errors (host-unreachable) for 2 retransmissions: a soft error"), std::string::npos)
      << i.basis;
  EXPECT_EQ(mechanism_from_evidence("app_timeout", "poll", 1000, Model{}, ObservedEvidence{}).mechanism, "app_timeout");
  EXPECT_EQ(mechanism_from_evidence("EAGAIN", "recv", 1500, Model{}, ObservedEvidence{}).mechanism, "rcvtimeo");
  EXPECT_EQ(mechanism_from_evidence("EOF", "recv", 1, Model{}, ObservedEvidence{}).mechanism, "fin");
}

TEST(MechanismEvidence, UndetectedRunsSayWhatWasSeenAndWhatWouldHaveFired) {
  // Keepalive off on an idle socket: nothing would ever fire.
  const Model never = model_of(R"({"name": "idle", "server": {"behavior": "echo"},
    "client": {"workload": {"kind": "idle"}},
    "faults": [{"kind": "blackhole", "on": "server", "at": "1s"}], "deadline": "8s"})");
  ASSERT_FALSE(never.detected());
  EXPECT_EQ(undetected_basis(never, ObservedEvidence{}, 8000),
            "no call failed within the deadline (8 s); no packet or tcp_info evidence; "
            "the model agrees: nothing would ever fire");
  // The kernel's default keepalive (7200 s) would fire long after the deadline.
  const Model later = idle_keepalive_model(R"(, "keepalive": {"idle": "7200s", "interval": "75s", "count": 9})");
  ObservedEvidence ev;
  ev.keepalive_probes_sent = 0;
  ev.last_answered_ms = -900;
  const std::string b = undetected_basis(later, ev, 30000);
  EXPECT_EQ(b.rfind("no call failed within the deadline (30 s); nothing the kernel's timers act on was observed", 0), 0u) << b;
  if (later.would_fire_ms) EXPECT_NE(b.find("would fire only at"), std::string::npos) << b;
  ev.data_retransmissions_ms = {10, 30, 70};
  EXPECT_NE(undetected_basis(later, ev, 30000).find("observed: 3 retransmissions of the head"), std::string::npos);
}

}  // namespace
}  // namespace sockchaos::harness
