// Expectations evaluated against results.json runs.
#include <gtest/gtest.h>

#include "harness/verdict/expectations.hpp"
#include "harness/model/load.hpp"
#include "scenario_test_util.hpp"

namespace sockchaos::harness {
namespace {

// The cell of the spec example with tcp_user_timeout=2s keepalive=off.
Cell spec_cell(const std::string& expect_json, const std::string& tut = "2s") {
  json doc = json::parse(R"({"name": "e", "deadline": "30s",
      "matrix": {"/client/socket/tcp_user_timeout": ["off", "2s"], "/client/socket/keepalive": ["off"]}})");
  doc["expect"] = json::parse(expect_json);
  for (auto& cell : expand_cells(load_scenario_json(doc)))
    if (cell.params["/client/socket/tcp_user_timeout"] == tut) return cell;
  throw std::runtime_error("no cell");
}

json detected(double ms, const std::string& error = "ETIMEDOUT", const std::string& mechanism = "tcp_user_timeout") {
  return {{"outcome", "detected"}, {"detection_ms", ms}, {"error", error}, {"mechanism", mechanism},
          {"sockets", {{"client", {{"peak", {{"ESTABLISHED", 1}}}}}, {"server", {{"peak", json::object()}}}}},
          {"probes", {{"attempted", 0}, {"succeeded", 0}, {"failed", json::object()}}}};
}

json undetected() {
  return {{"outcome", "undetected"}, {"detection_ms", nullptr}, {"error", nullptr}, {"mechanism", nullptr},
          {"sockets", json::object()}};
}

TEST(Expectations, AppliesByWhere) {
  Cell cell = spec_cell(R"([{"where": {"/client/socket/tcp_user_timeout": "2s"}, "detected_within": "3s"},
                            {"undetected": true}])");
  Expectation e;
  e.where = json::parse(R"({"/client/socket/tcp_user_timeout": "2s"})");
  EXPECT_TRUE(expectation_applies(e, cell));
  e.where = json::parse(R"({"/client/socket/tcp_user_timeout": "2000ms"})");
  EXPECT_TRUE(expectation_applies(e, cell));
  e.where = json::parse(R"({"/client/socket/tcp_user_timeout": "off"})");
  EXPECT_FALSE(expectation_applies(e, cell));
  e.where = json::parse(R"({"/client/socket/keepalive": "off", "/client/socket/tcp_user_timeout": "2s"})");
  EXPECT_TRUE(expectation_applies(e, cell));
  e.where = json::object();
  EXPECT_TRUE(expectation_applies(e, cell));
}

TEST(Expectations, DetectedWithinAndErrorPass) {
  Cell cell = spec_cell(R"([{"where": {"/client/socket/tcp_user_timeout": "2s"}, "detected_within": "3s", "error": "ETIMEDOUT"}])");
  auto results = evaluate_expectations(cell, testing::runs_of(json::array({detected(2208.4)})));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].check, "detected_within 3s");
  EXPECT_TRUE(results[0].passed);
  EXPECT_EQ(results[0].detail, "2208.4 ms");
  EXPECT_EQ(results[0].pointer, "/expect/0/detected_within");
  EXPECT_EQ(results[1].check, "error ETIMEDOUT");
  EXPECT_TRUE(results[1].passed);
  EXPECT_EQ(results[1].detail, "ETIMEDOUT");
}

TEST(Expectations, DetectedWithinFailsWhenLateOrUndetected) {
  Cell cell = spec_cell(R"([{"detected_within": "3s"}])");
  auto late = evaluate_expectations(cell, testing::runs_of(json::array({detected(3000.1)})));
  ASSERT_EQ(late.size(), 1u);
  EXPECT_FALSE(late[0].passed);
  EXPECT_EQ(late[0].detail, "3000.1 ms");
  auto none = evaluate_expectations(cell, testing::runs_of(json::array({undetected()})));
  EXPECT_FALSE(none[0].passed);
  EXPECT_EQ(none[0].detail, "undetected after deadline 30s");
  auto exact = evaluate_expectations(cell, testing::runs_of(json::array({detected(3000.0)})));
  EXPECT_TRUE(exact[0].passed);
}

TEST(Expectations, EveryRunMustPassAndTheDetailReportsTheWorst) {
  Cell cell = spec_cell(R"([{"detected_within": "3s"}])");
  auto ok = evaluate_expectations(cell, testing::runs_of(json::array({detected(1000), detected(2500.5), detected(2000)})));
  EXPECT_TRUE(ok[0].passed);
  EXPECT_EQ(ok[0].detail, "2500.5 ms (worst of 3 runs)");
  auto bad = evaluate_expectations(cell, testing::runs_of(json::array({detected(1000), detected(4000), detected(3500)})));
  EXPECT_FALSE(bad[0].passed);
  EXPECT_EQ(bad[0].detail, "4000.0 ms (worst of 3 runs)");
  auto one_undetected = evaluate_expectations(cell, testing::runs_of(json::array({detected(1000), undetected()})));
  EXPECT_FALSE(one_undetected[0].passed);
  EXPECT_EQ(one_undetected[0].detail, "undetected after deadline 30s (worst of 2 runs)");
}

TEST(Expectations, DetectedAfter) {
  Cell cell = spec_cell(R"([{"detected_after": "1s"}])");
  EXPECT_TRUE(evaluate_expectations(cell, testing::runs_of(json::array({detected(1500)})))[0].passed);
  auto early = evaluate_expectations(cell, testing::runs_of(json::array({detected(1500), detected(800)})));
  EXPECT_FALSE(early[0].passed);
  EXPECT_EQ(early[0].detail, "800.0 ms (worst of 2 runs)");
  EXPECT_EQ(early[0].check, "detected_after 1s");
  EXPECT_FALSE(evaluate_expectations(cell, testing::runs_of(json::array({undetected()})))[0].passed);
}

TEST(Expectations, Undetected) {
  Cell cell = spec_cell(R"([{"where": {"/client/socket/tcp_user_timeout": "off"}, "undetected": true}])", "off");
  auto pass = evaluate_expectations(cell, testing::runs_of(json::array({undetected()})));
  ASSERT_EQ(pass.size(), 1u);
  EXPECT_EQ(pass[0].check, "undetected");
  EXPECT_TRUE(pass[0].passed);
  EXPECT_EQ(pass[0].detail, "undetected after deadline 30s");
  auto fail = evaluate_expectations(cell, testing::runs_of(json::array({detected(912.25, "ECONNRESET")})));
  EXPECT_FALSE(fail[0].passed);
  EXPECT_EQ(fail[0].detail, "detected after 912.2 ms (ECONNRESET)");
}

TEST(Expectations, NotApplicableExpectationsAreNotEvaluated) {
  Cell cell = spec_cell(R"([{"where": {"/client/socket/tcp_user_timeout": "off"}, "undetected": true}])", "2s");
  EXPECT_TRUE(evaluate_expectations(cell, testing::runs_of(json::array({detected(1)}))).empty());
}

TEST(Expectations, ErrorAndMechanismMismatch) {
  Cell cell = spec_cell(R"([{"error": "ETIMEDOUT", "mechanism": "keepalive"}])");
  auto r = evaluate_expectations(cell, testing::runs_of(json::array({detected(100, "ECONNRESET", "rst")})));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_FALSE(r[0].passed);
  EXPECT_EQ(r[0].detail, "got ECONNRESET");
  EXPECT_EQ(r[1].check, "mechanism keepalive");
  EXPECT_FALSE(r[1].passed);
  EXPECT_EQ(r[1].detail, "got rst");
  auto u = evaluate_expectations(cell, testing::runs_of(json::array({undetected()})));
  EXPECT_FALSE(u[0].passed);
  EXPECT_EQ(u[0].detail, "no error: undetected after deadline 30s");
}

TEST(Expectations, RunErrorsFailEveryCheck) {
  Cell cell = spec_cell(R"([{"time_wait_max": 5, "undetected": true}])");
  json error_run = {{"outcome", "error"}, {"error_detail", "agent exited 2: bad option"}};
  auto r = evaluate_expectations(cell, testing::runs_of(json::array({undetected(), error_run})));
  ASSERT_EQ(r.size(), 2u);
  for (const auto& x : r) {
    EXPECT_FALSE(x.passed) << x.check;
    EXPECT_EQ(x.detail, "run 2: agent exited 2: bad option");
  }
  auto skipped = evaluate_expectations(cell, testing::runs_of(json::array({json{{"outcome", "skipped"}}})));
  EXPECT_FALSE(skipped[0].passed);
  EXPECT_EQ(skipped[0].detail, "skipped");
  auto none = evaluate_expectations(cell, testing::runs_of(json::array()));
  EXPECT_FALSE(none[0].passed);
  EXPECT_EQ(none[0].detail, "no runs");
}

TEST(Expectations, TimeWaitAndStatesFromPeaks) {
  Cell cell = spec_cell(R"([{"time_wait_max": 0}, {"time_wait_min": 1, "host": "server"},
                            {"states_max": {"CLOSE_WAIT": 0, "ESTABLISHED": 1}, "host": "server"}])");
  json run = detected(100);
  run["sockets"]["server"]["peak"] = {{"TIME_WAIT", 3}, {"CLOSE_WAIT", 2}};
  auto r = evaluate_expectations(cell, testing::runs_of(json::array({run})));
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].check, "time_wait_max 0 (client)");
  EXPECT_TRUE(r[0].passed);  // missing TIME_WAIT counts as 0
  EXPECT_EQ(r[0].detail, "TIME_WAIT peak 0 on client");
  EXPECT_EQ(r[1].check, "time_wait_min 1 (server)");
  EXPECT_TRUE(r[1].passed);
  EXPECT_EQ(r[1].detail, "TIME_WAIT peak 3 on server");
  EXPECT_EQ(r[2].check, "states_max CLOSE_WAIT 0 (server)");
  EXPECT_FALSE(r[2].passed);
  EXPECT_EQ(r[2].detail, "CLOSE_WAIT peak 2 on server");
  EXPECT_EQ(r[2].pointer, "/expect/2/states_max/CLOSE_WAIT");
  EXPECT_EQ(r[3].check, "states_max ESTABLISHED 1 (server)");
  EXPECT_TRUE(r[3].passed);
  // with several runs the worst peak is reported
  json run2 = run;
  run2["sockets"]["client"]["peak"]["TIME_WAIT"] = 4;
  auto r2 = evaluate_expectations(cell, testing::runs_of(json::array({run, run2})));
  EXPECT_FALSE(r2[0].passed);
  EXPECT_EQ(r2[0].detail, "TIME_WAIT peak 4 on client (worst of 2 runs)");
}

TEST(Expectations, ProbeFailuresSumEveryErrno) {
  Cell cell = spec_cell(R"([{"probe_failures_max": 10}, {"probe_failures_min": 1}])");
  json run = undetected();
  run["probes"] = {{"attempted", 100}, {"succeeded", 88}, {"failed", {{"ECONNREFUSED", 7}, {"ETIMEDOUT", 5}}}};
  auto r = evaluate_expectations(cell, testing::runs_of(json::array({run})));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].check, "probe_failures_max 10");
  EXPECT_FALSE(r[0].passed);
  EXPECT_EQ(r[0].detail, "probe failures 12");
  EXPECT_TRUE(r[1].passed);
  json clean = undetected();
  clean["probes"] = {{"attempted", 100}, {"succeeded", 100}, {"failed", json::object()}};
  auto c = evaluate_expectations(cell, testing::runs_of(json::array({clean})));
  EXPECT_TRUE(c[0].passed);
  EXPECT_FALSE(c[1].passed);
  EXPECT_EQ(c[1].detail, "probe failures 0");
}

TEST(Expectations, ModelHoldsFollowsTheRunsModelAndFailsClosedWithoutOne) {
  Cell cell = spec_cell(R"([{"model_holds": true}])");
  auto with_model = [](double measured, double lo, double hi, bool holds, const std::string& mechanism) {
    json run = detected(measured);
    run["model"] = {{"quantity", "detection"}, {"ms", lo},         {"mechanism", mechanism}, {"error", "ETIMEDOUT"},
                    {"formula", "f"},          {"inputs", json::object()}, {"lo_ms", lo},    {"hi_ms", hi},
                    {"window", "w"},           {"source", "s"},    {"notes", json::array()}, {"measured", measured},
                    {"delta_ms", measured - lo}, {"holds", holds},
                    {"why", holds ? "within [" + std::to_string(lo) + "]" : "outside"}};
    return run;
  };
  auto ok = evaluate_expectations(cell, testing::runs_of(json::array({with_model(3031.4, 3023.3, 3091.3, true, "tcp_user_timeout")})));
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].check, "model_holds");
  EXPECT_EQ(ok[0].pointer, "/expect/0/model_holds");
  EXPECT_TRUE(ok[0].passed) << ok[0].detail;
  EXPECT_EQ(ok[0].detail.rfind("model holds: ", 0), 0u) << ok[0].detail;
  // One run of two outside its window fails the expectation, and the detail is that run's.
  auto two = evaluate_expectations(cell, testing::runs_of(json::array({with_model(3031.4, 3023.3, 3091.3, true, "tcp_user_timeout"),
                                                                       with_model(4200.0, 3023.3, 3091.3, false, "tcp_user_timeout")})));
  EXPECT_FALSE(two[0].passed);
  EXPECT_NE(two[0].detail.find("model does not hold: outside"), std::string::npos) << two[0].detail;
  // Fails closed: no model, or a run the model does not cover.
  auto none = evaluate_expectations(cell, testing::runs_of(json::array({detected(2208.4)})));
  EXPECT_FALSE(none[0].passed);
  EXPECT_EQ(none[0].detail, "no kernel model for this run");
  auto unmodelled = evaluate_expectations(cell, testing::runs_of(json::array({with_model(10, 0, 0, false, "unmodelled")})));
  EXPECT_FALSE(unmodelled[0].passed);
  EXPECT_EQ(unmodelled[0].detail.rfind("not modelled", 0), 0u) << unmodelled[0].detail;
}

}  // namespace
}  // namespace sockchaos::harness
