// The advisor's search (pure: the kernel model, no kernel calls), its bad-input handling, the
// scenarios it verifies with and the snippets it prints.
#include <gtest/gtest.h>

#include "harness/advise/advise.hpp"
#include "harness/model/load.hpp"

using namespace sockchaos::harness;

namespace {

AdviseRequest request(double within_ms, std::vector<std::string> modes) {
  AdviseRequest r;
  r.within_ms = within_ms;
  r.modes = std::move(modes);
  return r;
}

const KernelEnvironment& env() {
  static const KernelEnvironment e = KernelEnvironment::linux_defaults();
  return e;
}

}  // namespace

TEST(Advise, EightSecondsInTheThreeModesIsMetWithMargin) {
  const auto a = advise(request(8000, {"idle", "busy", "zero-window"}), env());
  ASSERT_TRUE(a.achievable);
  ASSERT_EQ(a.plan.size(), 3u);
  for (const auto& p : a.plan) {
    ASSERT_TRUE(p.model_ms) << p.mode;
    EXPECT_LE(*p.model_ms, 8000) << p.mode << ": " << p.formula;
    EXPECT_TRUE(p.meets) << p.mode;
  }
  // Idle needs keepalive; busy and zero-window need the user timeout (keepalive does not run
  // with data in flight, zero-window probes are answered).
  EXPECT_TRUE(a.options.keepalive);
  EXPECT_GT(a.options.user_timeout_ms, 0);
  EXPECT_LE(a.options.user_timeout_ms, 8000);
  EXPECT_GE(a.options.idle_s + a.options.interval_s, 2);
  // 8 s leaves room for surviving a 1 s loss burst (the default wanted margin).
  EXPECT_GE(a.margin_ms, 1000);
  const auto j = a.options.socket_json();
  EXPECT_TRUE(j.contains("keepalive"));
  EXPECT_TRUE(j.contains("tcp_user_timeout"));
}

TEST(Advise, TheModelWindowOfTheChoiceIsWithinTheBoundForEveryMode) {
  // The plan's numbers are what the model says about the very scenarios that verify them.
  const auto a = advise(request(5000, {"idle", "busy", "crash", "rst"}), env());
  ASSERT_TRUE(a.achievable);
  for (const auto& mode : a.request.modes) {
    ModeScenarioInput in;
    in.mode = mode;
    in.options = a.options;
    in.within_ms = 5000;
    const Scenario s = load_scenario_json(build_mode_scenario(in, "advise-" + mode), "test");
    const Model m = predict_detection(s, env());
    ASSERT_TRUE(m.ms) << mode << ": " << m.mechanism;
    EXPECT_LE(m.hi_ms + kFaultAfterReadyMs, 5000) << mode << ": " << m.formula;
  }
}

TEST(Advise, SynSentUnderOneSecondIsImpossibleAndSaysWhy) {
  const auto a = advise(request(100, {"syn-sent"}), env());
  EXPECT_FALSE(a.achievable);
  ASSERT_EQ(a.plan.size(), 1u);
  EXPECT_FALSE(a.plan[0].meets);
  EXPECT_NE(a.plan[0].reason.find("TCP_TIMEOUT_INIT"), std::string::npos) << a.plan[0].reason;
  ASSERT_TRUE(a.plan[0].best_achievable_ms);
  EXPECT_GE(*a.plan[0].best_achievable_ms, 1000);
}

TEST(Advise, SynSentInThreeSecondsUsesTheUserTimeoutOrSynCount) {
  const auto a = advise(request(3000, {"syn-sent"}), env());
  ASSERT_TRUE(a.achievable) << a.plan[0].reason;
  EXPECT_TRUE(a.options.user_timeout_ms > 0 || a.options.syn_count);
  // A healthy connect whose first SYN is lost is retransmitted at 1 s and must be allowed to answer.
  EXPECT_GE(a.plan[0].burst_tolerance_ms, 1000);
}

TEST(Advise, KeepPinsAreHonoured) {
  auto r = request(8000, {"idle"});
  ASSERT_EQ(add_pin(r.pins, "keepalive.count=9"), "");
  ASSERT_EQ(add_pin(r.pins, "keepalive.interval=1s"), "");
  const auto a = advise(r, env());
  EXPECT_EQ(a.options.count, 9);
  EXPECT_EQ(a.options.interval_s, 1);
  EXPECT_TRUE(a.achievable);  // the user timeout ends it before 9 probes
}

TEST(Advise, PinnedOffUserTimeoutMakesBusyImpossibleInTwoSeconds) {
  auto r = request(2000, {"busy"});
  ASSERT_EQ(add_pin(r.pins, "tcp_user_timeout=off"), "");
  const auto a = advise(r, env());
  EXPECT_FALSE(a.achievable);
  EXPECT_FALSE(a.plan[0].reason.empty());
}

TEST(Advise, BadInputIsRefused) {
  Pins p;
  EXPECT_NE(add_pin(p, "keepalive.colour=3"), "");
  EXPECT_NE(add_pin(p, "keepalive.idle=1500ms"), "");  // whole seconds only
  EXPECT_NE(add_pin(p, "keepalive.count=0"), "");
  EXPECT_NE(add_pin(p, "nokeyvalue"), "");
  EXPECT_NE(validate_request(request(8000, {"idle", "sideways"})).find("unknown mode \"sideways\""), std::string::npos);
  EXPECT_NE(validate_request(request(0, {"idle"})), "");
  auto r = request(8000, {"idle"});
  r.link.profile = "carrier-pigeon";
  EXPECT_NE(validate_request(r).find("unknown link profile"), std::string::npos);
  EXPECT_EQ(validate_request(request(8000, {"idle", "busy"})), "");
}

TEST(Advise, EveryModeScenarioValidatesWithAndWithoutALink) {
  OptionSet options;
  options.keepalive = true;
  options.idle_s = 3;
  options.interval_s = 1;
  options.count = 2;
  options.user_timeout_ms = 4250;
  options.syn_count = 2;
  for (const auto& mode : mode_names())
    for (const std::string profile : {"", "wan-20ms"}) {
      ModeScenarioInput in;
      in.mode = mode;
      in.options = options;
      in.within_ms = 8000;
      in.link.profile = profile;
      EXPECT_NO_THROW(load_scenario_json(build_mode_scenario(in, "advise-" + mode), "test")) << mode << " " << profile;
      in.client_command = {"curl", "http://{server}:{port}/"};
      in.port = 8080;
      EXPECT_NO_THROW(load_scenario_json(build_mode_scenario(in, "audit-" + mode), "test")) << mode << " audit";
    }
}

TEST(Advise, SnippetsCarryTheChosenNumbers) {
  const auto a = advise(request(8000, {"idle", "busy"}), env());
  const auto s = make_snippets(a);
  const std::string ut = std::to_string(static_cast<long>(a.options.user_timeout_ms));
  for (const std::string* text : {&s.c, &s.python, &s.go, &s.envoy}) {
    EXPECT_NE(text->find(ut), std::string::npos) << *text;
    EXPECT_NE(text->find(std::to_string(a.options.idle_s)), std::string::npos) << *text;
  }
  EXPECT_NE(s.c.find("TCP_USER_TIMEOUT"), std::string::npos);
  EXPECT_NE(s.envoy.find("STATE_PREBIND"), std::string::npos);
  EXPECT_NE(s.envoy.find("name: 18"), std::string::npos);
  EXPECT_NE(s.java.find("ExtendedSocketOptions.TCP_KEEPIDLE"), std::string::npos);
  EXPECT_NE(s.java.find("setSoTimeout"), std::string::npos);
  const auto j = advice_json(a, {}, s);
  for (const char* k : {"options", "sysctl", "app_timeout", "verified", "snippets"}) EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"c", "go", "java", "python", "envoy", "sysctl"}) EXPECT_TRUE(j["snippets"].contains(k)) << k;
}

TEST(Advise, AllowedSysctlsMirrorTheKeepaliveTimes) {
  auto r = request(8000, {"idle"});
  r.allow_sysctl = true;
  const auto a = advise(r, env());
  ASSERT_TRUE(a.achievable);
  EXPECT_EQ(a.options.sysctl.at("net.ipv4.tcp_keepalive_time"), std::to_string(a.options.idle_s));
  auto plain = advise(request(8000, {"idle"}), env());
  EXPECT_TRUE(plain.options.sysctl.empty());
}
