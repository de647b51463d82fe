// Matrix expansion: ids, order, object values, created parents, bad pointers and values,
// expect/where checks.
#include <gtest/gtest.h>

#include "harness/model/load.hpp"
#include "scenario_test_util.hpp"

namespace sockchaos::harness {
namespace {

using namespace std::chrono_literals;
using testing::find_issue;
using testing::issues_of;

std::vector<Cell> cells_of(const std::string& text) {
  return expand_cells(load_scenario(parse_document(text, "m.json")));
}

TEST(Matrix, NoMatrixGivesOneCellWithEmptyId) {
  auto cells = cells_of(R"({"name": "plain", "expect": [{"undetected": true}]})");
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].id, "");
  EXPECT_EQ(cells[0].full_id(), "plain");
  EXPECT_TRUE(cells[0].params.empty());
  EXPECT_EQ(cells[0].scenario.expect.size(), 1u);
}

TEST(Matrix, CartesianProductFirstAxisSlowestWithIdsAndParams) {
  auto cells = cells_of(R"({"name": "m",
    "matrix": {
      "/client/socket/tcp_user_timeout": ["off", "1s", "2s"],
      "/client/socket/keepalive": ["off", { "idle": "1s", "interval": "1s", "count": 3 }]
    }})");
  ASSERT_EQ(cells.size(), 6u);
  std::vector<std::string> ids;
  for (const auto& c : cells) ids.push_back(c.id);
  const std::string ka = R"(keepalive={"idle":"1s","interval":"1s","count":3})";
  EXPECT_EQ(ids, (std::vector<std::string>{"tcp_user_timeout=off keepalive=off", "tcp_user_timeout=off " + ka,
                                           "tcp_user_timeout=1s keepalive=off", "tcp_user_timeout=1s " + ka,
                                           "tcp_user_timeout=2s keepalive=off", "tcp_user_timeout=2s " + ka}));
  EXPECT_EQ(cells[2].full_id(), "m/tcp_user_timeout=1s keepalive=off");
  EXPECT_EQ(cells[2].scenario_name, "m");
  // params: ordered pointer -> value
  std::vector<std::string> keys;
  for (const auto& [k, v] : cells[3].params.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"/client/socket/tcp_user_timeout", "/client/socket/keepalive"}));
  EXPECT_EQ(cells[3].params["/client/socket/tcp_user_timeout"], "1s");
  EXPECT_TRUE(cells[3].params["/client/socket/keepalive"].is_object());
  // Each cell is a full typed scenario with the values set; missing parents (/client/socket) created.
  EXPECT_EQ(cells[0].scenario.client.socket.tcp_user_timeout, Nanos(0));
  EXPECT_EQ(cells[2].scenario.client.socket.tcp_user_timeout, Nanos(1s));
  ASSERT_TRUE(cells[3].scenario.client.socket.keepalive);
  EXPECT_TRUE(cells[3].scenario.client.socket.keepalive->enabled);
  EXPECT_EQ(cells[3].scenario.client.socket.keepalive->count, 3);
  EXPECT_FALSE(cells[2].scenario.client.socket.keepalive->enabled);
  EXPECT_EQ(cells[3].scenario.document["client"]["socket"]["tcp_user_timeout"], "1s");
}

TEST(Matrix, NumbersBoolsAndNestedArraysInIds) {
  auto cells = cells_of(R"({"name": "m", "matrix": {"/repeat": [1, 3], "/client/socket/nodelay": [true],
                             "/faults/0/at": ["0s", "1.5s"]},
                             "faults": [{"kind": "blackhole"}]})");
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0].id, "repeat=1 nodelay=true at=0s");
  EXPECT_EQ(cells[3].id, "repeat=3 nodelay=true at=1.5s");
  EXPECT_EQ(cells[3].scenario.repeat, 3);
  EXPECT_EQ(cells[3].scenario.faults[0].at, Nanos(1500ms));
}

TEST(Matrix, UnknownPointerIsAnErrorNamingTheMatrixPointer) {
  auto issues = issues_of(R"({"name": "m",
  "matrix": {
    "/client/socket/tcp_usr_timeout": ["1s", "2s"]
  }})");
  EXPECT_ISSUE(issues, "/matrix/~1client~1socket~1tcp_usr_timeout", "names no scenario setting");
  EXPECT_ISSUE(issues, "/matrix/~1client~1socket~1tcp_usr_timeout", "did you mean \"tcp_user_timeout\"");
  EXPECT_EQ(find_issue(issues, "/matrix/~1client~1socket~1tcp_usr_timeout")->line, 3);
  EXPECT_EQ(issues.size(), 1u) << testing::dump_issues(issues);

  issues = issues_of(R"({"name": "m", "matrix": {"/clint/socket/nodelay": [true]}})");
  EXPECT_ISSUE(issues, "/matrix/~1clint~1socket~1nodelay", "names no scenario setting");
  EXPECT_EQ(issues.size(), 1u) << testing::dump_issues(issues);

  issues = issues_of(R"({"name": "m", "matrix": {"/faults/2/at": ["1s"], "/deadline/x": ["1s"],
                                                  "/expect/0": [{}], "nope": [1], "/repeat": [], "/observe": "1s"},
                           "faults": [{"kind": "kill"}]})");
  EXPECT_ISSUE(issues, "/matrix/~1faults~12~1at", "has no element \"2\"");
  EXPECT_ISSUE(issues, "/matrix/~1deadline~1x", "names no scenario setting: /deadline: expected a duration");
  EXPECT_EQ(find_issue(issues, "/deadline"), nullptr) << testing::dump_issues(issues);
  EXPECT_ISSUE(issues, "/matrix/~1expect~10", "cannot be a matrix axis");
  EXPECT_ISSUE(issues, "/matrix/nope", "JSON Pointer");
  EXPECT_ISSUE(issues, "/matrix/~1repeat", "non-empty list");
  EXPECT_ISSUE(issues, "/matrix/~1observe", "wrap it in [ ]");
}

TEST(Matrix, BadValueNamesTheMatrixPointerAndValueIndex) {
  auto issues = issues_of(R"({"name": "m",
  "matrix": {
    "/client/socket/tcp_user_timeout": ["off", "2s", 5],
    "/client/socket/keepalive": ["off",
       { "idle": "1.5s", "interval": "1s", "count": 3 }]
  }})");
  EXPECT_ISSUE(issues, "/matrix/~1client~1socket~1tcp_user_timeout/2", "got the number 5 — write \"5s\"");
  EXPECT_EQ(find_issue(issues, "/matrix/~1client~1socket~1tcp_user_timeout/2")->line, 3);
  EXPECT_ISSUE(issues, "/matrix/~1client~1socket~1keepalive/1/idle", "whole seconds");
  EXPECT_EQ(find_issue(issues, "/matrix/~1client~1socket~1keepalive/1/idle")->line, 5);
  EXPECT_EQ(issues.size(), 2u) << testing::dump_issues(issues);
  EXPECT_THROW(load_scenario(parse_document(R"({"name": "m", "matrix": {"/repeat": [1, 0]}})", "x")), ScenarioError);
}

TEST(Matrix, DuplicateValuesAreRejected) {
  auto issues = issues_of(R"({"name": "m", "matrix": {"/deadline": ["1s", "2s", "1s"]}})");
  EXPECT_ISSUE(issues, "/matrix/~1deadline/2", "already value 0");
}

TEST(Matrix, IssuesOfOnlySomeCellsNameTheCell) {
  auto issues = issues_of(R"({"name": "m", "matrix": {"/server/behavior": ["echo", "command"]}})");
  EXPECT_ISSUE(issues, "/server", "(in matrix cell \"behavior=command\")");
  EXPECT_EQ(issues.size(), 1u) << testing::dump_issues(issues);
}

TEST(Matrix, WhereMatchingNoCellIsAnError) {
  auto issues = issues_of(R"({"name": "m",
  "matrix": { "/client/socket/tcp_user_timeout": ["off", "2s"] },
  "expect": [
    { "where": { "/client/socket/tcp_user_timeout": "3s" }, "undetected": true },
    { "where": { "/client/socket/tcp_usr_timeout": "2s" }, "undetected": true },
    { "where": { "/client/socket/tcp_user_timeout": "2000ms" }, "detected_within": "3s" }
  ]})");
  EXPECT_ISSUE(issues, "/expect/0/where", "matches no cell");
  EXPECT_ISSUE(issues, "/expect/0/where", "\"3s\"");
  EXPECT_EQ(find_issue(issues, "/expect/0/where")->line, 4);
  EXPECT_ISSUE(issues, "/expect/1/where/~1client~1socket~1tcp_usr_timeout", "expected a matrix pointer");
  EXPECT_EQ(issues.size(), 2u) << testing::dump_issues(issues);  // "2000ms" matches "2s"

  issues = issues_of(R"({"name": "m", "expect": [{"where": {"/deadline": "1s"}, "undetected": true}]})");
  EXPECT_ISSUE(issues, "/expect/0/where/~1deadline", "this scenario has no matrix");
}

TEST(Matrix, CellsKeepOnlyTheExpectationsThatApply) {
  auto cells = cells_of(R"({"name": "m",
  "matrix": { "/client/socket/tcp_user_timeout": ["off", "2s"], "/deadline": ["10s", "20s"] },
  "expect": [
    { "where": { "/client/socket/tcp_user_timeout": "2s" }, "detected_within": "3s" },
    { "where": { "/client/socket/tcp_user_timeout": "off", "/deadline": "20s" }, "undetected": true },
    { "time_wait_max": 0 }
  ]})");
  ASSERT_EQ(cells.size(), 4u);
  auto pointers = [](const Cell& c) {
    std::vector<std::string> out;
    for (const auto& e : c.scenario.expect) out.push_back(e.pointer);
    return out;
  };
  EXPECT_EQ(pointers(cells[0]), (std::vector<std::string>{"/expect/2"}));              // off 10s
  EXPECT_EQ(pointers(cells[1]), (std::vector<std::string>{"/expect/1", "/expect/2"}));  // off 20s
  EXPECT_EQ(pointers(cells[2]), (std::vector<std::string>{"/expect/0", "/expect/2"}));  // 2s 10s
  EXPECT_EQ(pointers(cells[3]), (std::vector<std::string>{"/expect/0", "/expect/2"}));  // 2s 20s
  EXPECT_EQ(cells[1].scenario.deadline, Nanos(20s));
}

TEST(Matrix, ExpandCellsOnAnInvalidScenarioThrows) {
  Scenario s = load_scenario_json(json::parse(R"({"name": "m", "matrix": {"/deadline": ["1s"]}})"));
  s.document["matrix"]["/deadline"] = json::array({"1s", 7});
  try {
    expand_cells(s);
    ADD_FAILURE() << "no exception";
  } catch (const ScenarioError& e) {
    ASSERT_EQ(e.issues().size(), 1u);
    EXPECT_EQ(e.issues()[0].pointer, "/matrix/~1deadline/1");
  }
}

TEST(Matrix, MatrixCanAddAHostsSysctl) {
  auto cells = cells_of(R"({"name": "m",
    "matrix": { "/hosts/client/sysctl/net.ipv4.tcp_retries2": [3, 15] },
    "hosts": { "client": {}, "server": {} }})");
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[1].id, "net.ipv4.tcp_retries2=15");
  ASSERT_EQ(cells[1].scenario.host("client")->sysctl.size(), 1u);
  EXPECT_EQ(cells[1].scenario.host("client")->sysctl[0].second, "15");
}

}  // namespace
}  // namespace sockchaos::harness
