// Model extensions for the field-article scenarios: time_wait_cleared_after / _within,
// states_min, upstream_server, app_timeout "off".
#include <gtest/gtest.h>

#include "harness/verdict/expectations.hpp"
#include "harness/model/load.hpp"
#include "scenario_test_util.hpp"

namespace sockchaos::harness {
namespace {

Cell one_cell(const std::string& expect_json) {
  json doc = json::parse(R"({"name": "tw", "observe": "66s"})");
  doc["expect"] = json::parse(expect_json);
  return expand_cells(load_scenario_json(doc)).at(0);
}

json probe_run(int64_t tw_peak, json cleared) {
  return {{"outcome", "undetected"}, {"detection_ms", nullptr}, {"error", nullptr}, {"mechanism", nullptr},
          {"sockets", {{"client", {{"peak", {{"TIME_WAIT", tw_peak}}}, {"time_wait_cleared_ms", cleared}}},
                       {"server", {{"peak", {{"CLOSE_WAIT", 5}}}, {"time_wait_cleared_ms", nullptr}}}}}};
}

TEST(TimeWaitLifetime, ParsedAsDurations) {
  Cell cell = one_cell(R"([{"time_wait_cleared_after": "60s", "time_wait_cleared_within": "65s"}])");
  const auto& e = cell.scenario.expect.at(0);
  ASSERT_TRUE(e.time_wait_cleared_after && e.time_wait_cleared_within);
  EXPECT_EQ(*e.time_wait_cleared_after, std::chrono::seconds(60));
  EXPECT_EQ(*e.time_wait_cleared_within, std::chrono::seconds(65));
}

TEST(TimeWaitLifetime, StrictParsing) {
  auto bare = testing::issues_of(R"({"name": "x", "expect": [{"time_wait_cleared_within": 60}]})");
  const InputIssue* i = testing::find_issue(bare, "/expect/0/time_wait_cleared_within");
  ASSERT_NE(i, nullptr) << testing::dump_issues(bare);
  EXPECT_NE(i->message.find("duration"), std::string::npos) << i->message;
  auto order = testing::issues_of(
      R"({"name": "x", "expect": [{"time_wait_cleared_after": "61s", "time_wait_cleared_within": "60s"}]})");
  EXPECT_NE(testing::find_issue(order, "/expect/0/time_wait_cleared_after"), nullptr) << testing::dump_issues(order);
}

TEST(TimeWaitLifetime, EvaluatesClearedTime) {
  Cell cell = one_cell(R"([{"time_wait_cleared_after": "60s", "time_wait_cleared_within": "65s"}])");
  auto ok = evaluate_expectations(cell, testing::runs_of(json::array({probe_run(10, 61234.5)})));
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[0].check, "time_wait_cleared_after 1m (client)");  // format_duration: shortest exact form
  EXPECT_TRUE(ok[0].passed);
  EXPECT_EQ(ok[0].detail, "TIME_WAIT on client cleared 61234.5 ms after the workload ended");
  EXPECT_EQ(ok[0].pointer, "/expect/0/time_wait_cleared_after");
  EXPECT_EQ(ok[1].check, "time_wait_cleared_within 65s (client)");
  EXPECT_TRUE(ok[1].passed);

  auto early = evaluate_expectations(cell, testing::runs_of(json::array({probe_run(10, 5100.0)})));  // fin_timeout-like
  EXPECT_FALSE(early[0].passed);
  EXPECT_TRUE(early[1].passed);

  // Never cleared during the observation: still there after 60 s, but not cleared within 65 s.
  auto never = evaluate_expectations(cell, testing::runs_of(json::array({probe_run(10, nullptr)})));
  EXPECT_TRUE(never[0].passed);
  EXPECT_FALSE(never[1].passed);
  EXPECT_EQ(never[1].detail, "TIME_WAIT on client not cleared during the observation");

  // No TIME_WAIT at all: neither holds.
  auto none = evaluate_expectations(cell, testing::runs_of(json::array({probe_run(0, nullptr)})));
  EXPECT_FALSE(none[0].passed);
  EXPECT_FALSE(none[1].passed);
  EXPECT_EQ(none[0].detail, "no TIME_WAIT on client");

  // The worst run is reported.
  auto two = evaluate_expectations(cell, testing::runs_of(json::array({probe_run(10, 61000.0), probe_run(10, 66000.0)})));
  EXPECT_FALSE(two[1].passed);
  EXPECT_EQ(two[1].detail, "TIME_WAIT on client cleared 66000.0 ms after the workload ended (worst of 2 runs)");
}

TEST(StatesMin, EvaluatesPeaksAndParsesStrictly) {
  Cell cell = one_cell(R"([{"states_min": {"CLOSE_WAIT": 5}, "host": "server"},
                           {"states_min": {"CLOSE_WAIT": 6}, "host": "server"}])");
  auto r = evaluate_expectations(cell, testing::runs_of(json::array({probe_run(0, nullptr)})));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].check, "states_min CLOSE_WAIT 5 (server)");
  EXPECT_TRUE(r[0].passed);
  EXPECT_EQ(r[0].pointer, "/expect/0/states_min/CLOSE_WAIT");
  EXPECT_FALSE(r[1].passed);
  EXPECT_EQ(r[1].detail, "CLOSE_WAIT peak 5 on server");

  auto bad = testing::issues_of(R"({"name": "x", "expect": [{"states_min": {"CLOSE_WAITT": 1}}]})");
  EXPECT_NE(testing::find_issue(bad, "/expect/0/states_min/CLOSE_WAITT"), nullptr) << testing::dump_issues(bad);
  auto order = testing::issues_of(
      R"({"name": "x", "expect": [{"states_min": {"CLOSE_WAIT": 3}, "states_max": {"CLOSE_WAIT": 2}}]})");
  EXPECT_NE(testing::find_issue(order, "/expect/0/states_min/CLOSE_WAIT"), nullptr) << testing::dump_issues(order);
}

TEST(UpstreamServer, ParsedAndChecked) {
  auto s = load_scenario_json(json::parse(R"({"name": "chain",
      "hosts": {"client": {}, "proxy": {}, "server": {}},
      "links": [["client", "proxy"], ["proxy", "server"]],
      "upstream_server": {"on": "server", "port": 8081, "behavior": "respond", "close": "after-response"},
      "server": {"on": "proxy", "port": 8080, "behavior": "proxy", "upstream": "server:8081"},
      "client": {"on": "client", "connect": "proxy:8080", "workload": {"kind": "probe", "count": 1}}})"));
  ASSERT_TRUE(s.upstream_server.has_value());
  EXPECT_EQ(s.upstream_server->on, "server");
  EXPECT_EQ(s.upstream_server->port, 8081);
  EXPECT_EQ(s.upstream_server->close, CloseMode::after_response);

  auto proxy = testing::issues_of(R"({"name": "x", "upstream_server": {"behavior": "proxy"}})");
  EXPECT_NE(testing::find_issue(proxy, "/upstream_server/behavior"), nullptr) << testing::dump_issues(proxy);
  auto unknown = testing::issues_of(R"({"name": "x", "upstream_server": {"upstream": "server:1"}})");
  EXPECT_NE(testing::find_issue(unknown, "/upstream_server/upstream"), nullptr) << testing::dump_issues(unknown);
  auto host = testing::issues_of(R"({"name": "x", "upstream_server": {"on": "nowhere", "port": 9}})");
  EXPECT_NE(testing::find_issue(host, "/upstream_server/on"), nullptr) << testing::dump_issues(host);
  auto clash = testing::issues_of(R"({"name": "x", "upstream_server": {"port": 7000}})");
  EXPECT_NE(testing::find_issue(clash, "/upstream_server/port"), nullptr) << testing::dump_issues(clash);
}

TEST(AppTimeout, OffMeansNone) {
  auto off = load_scenario_json(json::parse(R"({"name": "x", "client": {"app_timeout": "off"}})"));
  EXPECT_FALSE(off.client.app_timeout.has_value());
  auto on = load_scenario_json(json::parse(R"({"name": "x", "client": {"app_timeout": "1s"}})"));
  ASSERT_TRUE(on.client.app_timeout.has_value());
  EXPECT_EQ(*on.client.app_timeout, std::chrono::seconds(1));
}

}  // namespace
}  // namespace sockchaos::harness
