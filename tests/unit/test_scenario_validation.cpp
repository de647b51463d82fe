// Strict validation: every kind of invalid input names the right pointer and line, all issues
// are collected, defaults and typed values are right.
#include <gtest/gtest.h>

#include "harness/model/load.hpp"
#include "scenario_test_util.hpp"

namespace sockchaos::harness {
namespace {

using namespace std::chrono_literals;
using testing::find_issue;
using testing::issues_of;
using testing::issues_of_json;

const char* kSpecExample = R"({
  "name": "half-open-busy-sender",
  "description": "The server host dies while the client streams; who notices first?",
  "hosts": {
    "client": { "sysctl": { "net.ipv4.tcp_retries2": 8 } },
    "server": {}
  },
  "server": { "on": "server", "port": 7000, "behavior": "sink" },
  "client": {
    "on": "client",
    "connect": "server:7000",
    "workload": { "kind": "stream", "rate": "100KiB/s" },
    "socket": { "tcp_user_timeout": "2s" }
  },
  "faults": [ { "kind": "blackhole", "on": "server", "at": "500ms" } ],
  "deadline": "30s",
  "matrix": {
    "/client/socket/tcp_user_timeout": ["off", "1s", "2s", "5s"],
    "/client/socket/keepalive": ["off", { "idle": "1s", "interval": "1s", "count": 3 }]
  },
  "expect": [
    { "where": { "/client/socket/tcp_user_timeout": "2s" },
      "detected_within": "3s", "error": "ETIMEDOUT" },
    { "where": { "/client/socket/tcp_user_timeout": "off" }, "undetected": true }
  ]
})";

json minimal() { return json::parse(R"({"name": "t"})"); }

json with(const std::string& patch) {
  json doc = minimal();
  doc.update(json::parse(patch));
  return doc;
}

TEST(Validate, SpecExampleIsValidAndTyped) {
  EXPECT_NO_ISSUES(issues_of(kSpecExample));
  Scenario s = load_scenario(parse_document(kSpecExample, "spec.json"));
  EXPECT_EQ(s.name, "half-open-busy-sender");
  EXPECT_EQ(s.file, "spec.json");
  ASSERT_EQ(s.hosts.size(), 2u);
  ASSERT_NE(s.host("client"), nullptr);
  ASSERT_EQ(s.host("client")->sysctl.size(), 1u);
  EXPECT_EQ(s.host("client")->sysctl[0], std::make_pair(std::string("net.ipv4.tcp_retries2"), std::string("8")));
  EXPECT_EQ(name(s.server.behavior), "sink");
  EXPECT_EQ(s.client.connect_host, "server");
  EXPECT_EQ(s.client.connect_port, 7000);
  EXPECT_EQ(name(s.client.workload.kind), "stream");
  EXPECT_DOUBLE_EQ(s.client.workload.bytes_per_second, 102400.0);
  EXPECT_EQ(s.client.socket.tcp_user_timeout, Nanos(2s));
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].at, Nanos(500ms));
  EXPECT_EQ(s.faults[0].label(), "blackhole on server (both)");
  EXPECT_EQ(s.deadline, Nanos(30s));
  ASSERT_EQ(s.matrix.size(), 2u);
  EXPECT_EQ(s.matrix[0].pointer, "/client/socket/tcp_user_timeout");
  EXPECT_EQ(s.matrix[1].values.size(), 2u);
  ASSERT_EQ(s.expect.size(), 2u);
  EXPECT_EQ(s.expect[0].pointer, "/expect/0");
  EXPECT_EQ(s.expect[0].detected_within, Nanos(3s));
  EXPECT_EQ(s.expect[0].error, "ETIMEDOUT");
  EXPECT_EQ(s.expect[1].undetected, true);
  EXPECT_EQ(s.expect[1].host, "client");
  EXPECT_EQ(s.document["name"], "half-open-busy-sender");
}

TEST(Validate, DefaultsForAMinimalScenario) {
  Scenario s = load_scenario_json(minimal());
  EXPECT_EQ(s.file, "<dict>");
  ASSERT_EQ(s.hosts.size(), 2u);
  EXPECT_EQ(s.hosts[0].name, "client");
  EXPECT_EQ(s.hosts[1].name, "server");
  ASSERT_EQ(s.links.size(), 1u);
  EXPECT_EQ(s.links[0].a, "client");
  EXPECT_EQ(s.links[0].b, "server");
  EXPECT_FALSE(s.links[0].emulated());
  EXPECT_EQ(s.server.on, "server");
  EXPECT_EQ(s.server.port, 7000);
  EXPECT_EQ(name(s.server.behavior), "echo");
  EXPECT_EQ(name(s.server.close), "never");
  EXPECT_EQ(s.client.on, "client");
  EXPECT_EQ(s.client.connect_host, "server");
  EXPECT_EQ(name(s.client.workload.kind), "idle");
  EXPECT_EQ(s.deadline, Nanos(60s));
  EXPECT_EQ(s.observe, Nanos(0));
  EXPECT_EQ(s.sample_every, Nanos(100ms));
  EXPECT_EQ(s.repeat, 1);
  EXPECT_TRUE(s.faults.empty());
}

TEST(Validate, ClientConnectDefaultsToTheServersHostAndPort) {
  Scenario s = load_scenario_json(with(R"({"hosts": {"a": {}, "b": {}}, "links": [["a", "b"]],
      "server": {"on": "b", "port": 8080}, "client": {"on": "a"}})"));
  EXPECT_EQ(s.client.connect_host, "b");
  EXPECT_EQ(s.client.connect_port, 8080);
}

TEST(Validate, MissingNameAndBadName) {
  auto issues = issues_of_json(json::parse(R"({"description": "x"})"));
  EXPECT_ISSUE(issues, "", "expected a \"name\" key");
  issues = issues_of("{\n  \"name\": \"Bad_Name\"\n}");
  EXPECT_ISSUE(issues, "/name", "lowercase letters");
  EXPECT_EQ(find_issue(issues, "/name")->line, 2);
  EXPECT_EQ(find_issue(issues, "/name")->file, "t.json");
}

TEST(Validate, UnknownKeysAtEveryLevelWithSuggestions) {
  auto issues = issues_of(R"({
  "name": "t",
  "deadlin": "3s",
  "server": { "behaviour": "echo" },
  "client": { "socket": { "tcp_usr_timeout": "2s" }, "workload": { "kind": "idle", "rate": 3 } },
  "faults": [ { "kind": "blackhole", "att": "1s" } ],
  "expect": [ { "detected_within": "1s", "hots": "client" } ],
  "hosts": { "client": { "sysctls": {} }, "server": {} }
})");
  EXPECT_ISSUE(issues, "/deadlin", "did you mean \"deadline\"");
  EXPECT_EQ(find_issue(issues, "/deadlin")->line, 3);
  EXPECT_ISSUE(issues, "/server/behaviour", "did you mean \"behavior\"");
  EXPECT_ISSUE(issues, "/client/socket/tcp_usr_timeout", "did you mean \"tcp_user_timeout\"");
  EXPECT_ISSUE(issues, "/client/workload/rate", "unknown key \"rate\" in a \"idle\" workload");
  EXPECT_ISSUE(issues, "/faults/0/att", "did you mean \"at\"");
  EXPECT_ISSUE(issues, "/expect/0/hots", "did you mean \"host\"");
  EXPECT_ISSUE(issues, "/hosts/client/sysctls", "did you mean \"sysctl\"");
  EXPECT_EQ(find_issue(issues, "/hosts/client/sysctls")->line, 8);
  EXPECT_EQ(issues.size(), 7u) << testing::dump_issues(issues);
}

// A suggestion needs the nearest key within a third of its length (at least 2 edits); a
// farther one, or a very long key, gets none, and the long key is answered without a
// quadratic edit distance (the distance is cut off at the largest limit).
TEST(Validate, SuggestionsOnlyForNearKeysAndNoneForALongOne) {
  std::string long_key(500, 'd');  // under kMaxPointerBytes
  auto issues = issues_of("{\"name\": \"t\", \"deadlinexx\": 1, \"dxxdlxxe\": 1, \"" + long_key + "\": 1}");
  EXPECT_ISSUE(issues, "/deadlinexx", "did you mean \"deadline\"");
  ASSERT_NE(find_issue(issues, "/dxxdlxxe"), nullptr) << testing::dump_issues(issues);
  EXPECT_EQ(find_issue(issues, "/dxxdlxxe")->message.find("did you mean"), std::string::npos);
  ASSERT_NE(find_issue(issues, "/" + long_key), nullptr);
  EXPECT_EQ(find_issue(issues, "/" + long_key)->message.find("did you mean"), std::string::npos);
  // Deletions, insertions and swaps: edits off the diagonal of the (banded) distance.
  auto near = issues_of(R"({"name": "t", "dedline": 1, "deaadlinee": 1, "edadline": 1, "sampel_every": "1s"})");
  EXPECT_ISSUE(near, "/dedline", "did you mean \"deadline\"");
  EXPECT_ISSUE(near, "/deaadlinee", "did you mean \"deadline\"");
  EXPECT_ISSUE(near, "/edadline", "did you mean \"deadline\"");
  EXPECT_ISSUE(near, "/sampel_every", "did you mean \"sample_every\"");
}

TEST(Validate, CollectsAllIssuesSortedByLine) {
  auto issues = issues_of(R"({
  "name": "t",
  "deadline": 30,
  "observe": "forever",
  "sample_every": "1ms",
  "repeat": 0,
  "server": { "port": 70000, "behavior": "ech" }
})");
  ASSERT_EQ(issues.size(), 6u) << testing::dump_issues(issues);
  EXPECT_ISSUE(issues, "/deadline", "expected a duration string like \"250ms\" or \"3s\"; got the number 30 — write \"30s\"");
  EXPECT_ISSUE(issues, "/observe", "got \"forever\"");
  EXPECT_ISSUE(issues, "/sample_every", "at least 10ms");
  EXPECT_ISSUE(issues, "/repeat", "from 1 to 1000");
  EXPECT_ISSUE(issues, "/server/port", "from 1 to 65535; got the number 70000");
  EXPECT_ISSUE(issues, "/server/behavior", "did you mean \"echo\"");
  for (size_t i = 1; i < issues.size(); ++i) EXPECT_LE(issues[i - 1].line, issues[i].line);
  EXPECT_EQ(find_issue(issues, "/server/behavior")->line, 7);
  // load_scenario throws all of them at once
  try {
    load_scenario(parse_document("{\"name\": \"t\", \"deadline\": 30, \"repeat\": 0}", "x.json"));
    ADD_FAILURE() << "no exception";
  } catch (const ScenarioError& e) {
    EXPECT_EQ(e.issues().size(), 2u);
    EXPECT_NE(std::string(e.what()).find("x.json:1: /deadline: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("x.json:1: /repeat: "), std::string::npos) << e.what();
  }
}

TEST(Validate, BareNumberWhereADurationIsExpectedSuggestsTheUnit) {
  auto issues = issues_of_json(with(R"({"client": {"socket": {"keepalive": {"idle": 3, "interval": "1s", "count": 3}}}})"));
  EXPECT_ISSUE(issues, "/client/socket/keepalive/idle",
               "expected a duration string like \"250ms\" or \"3s\"; got the number 3 — write \"3s\"");
  issues = issues_of_json(with(R"({"client": {"socket": {"tcp_user_timeout": 2000}}})"));
  EXPECT_ISSUE(issues, "/client/socket/tcp_user_timeout", "\"off\" or a duration string");
  EXPECT_ISSUE(issues, "/client/socket/tcp_user_timeout", "write \"2000s\"");
}

TEST(Validate, SocketOptions) {
  auto issues = issues_of(R"({"name": "t",
  "client": { "socket": {
    "keepalive": { "idle": "1.5s", "interval": "500ms", "count": 200 },
    "linger": "1.5s",
    "tcp_user_timeout": "1.5ms",
    "nodelay": "true",
    "syn_count": 0,
    "rcvbuf": -1,
    "raw": [ { "level": 6, "name": 18 }, { "level": 6, "name": 18, "int": "x" } ]
  } },
  "server": { "socket": { "keepalive": "yes", "sndtimeo": "off", "reuseport": true } }
})");
  EXPECT_ISSUE(issues, "/client/socket/keepalive/idle", "whole seconds");
  EXPECT_ISSUE(issues, "/client/socket/keepalive/interval", "at least 1s");
  EXPECT_ISSUE(issues, "/client/socket/keepalive/count", "from 1 to 127");
  EXPECT_ISSUE(issues, "/client/socket/linger", "whole seconds");
  EXPECT_ISSUE(issues, "/client/socket/tcp_user_timeout", "whole milliseconds");
  EXPECT_ISSUE(issues, "/client/socket/nodelay", "without quotes");
  EXPECT_ISSUE(issues, "/client/socket/syn_count", "from 1 to 127");
  EXPECT_ISSUE(issues, "/client/socket/rcvbuf", "from 1 to 2147483647");
  EXPECT_ISSUE(issues, "/client/socket/raw/0", "\"int\" key");
  EXPECT_ISSUE(issues, "/client/socket/raw/1/int", "whole number");
  EXPECT_ISSUE(issues, "/server/socket/keepalive", "expected \"off\", \"on\"");
  EXPECT_EQ(find_issue(issues, "/client/socket/keepalive/idle")->line, 3);
  EXPECT_EQ(find_issue(issues, "/client/socket/raw/1/int")->line, 9);
  EXPECT_EQ(issues.size(), 11u) << testing::dump_issues(issues);
  // A value left out comes from the host's sysctl: not an issue.
  EXPECT_NO_ISSUES(issues_of_json(with(R"({"client": {"socket": {"keepalive": {"idle": "1s"}}}})")));
  EXPECT_NO_ISSUES(issues_of_json(with(R"({"client": {"socket": {"keepalive": "on"}}})")));
}

TEST(Validate, SocketOptionsTyped) {
  std::vector<InputIssue> issues;
  auto o = parse_socket_options(json::parse(R"({"keepalive": {"idle": "7s", "interval": "2s", "count": 4},
      "linger": "0s", "tcp_user_timeout": "off", "rcvtimeo": "250ms", "sndtimeo": "off", "nodelay": true,
      "syn_count": 2, "sndbuf": 4096, "raw": [{"level": 6, "name": 18, "int": -5}]})"),
                                "/client/socket", issues, "f");
  EXPECT_NO_ISSUES(issues);
  ASSERT_TRUE(o.keepalive);
  EXPECT_TRUE(o.keepalive->enabled);
  EXPECT_EQ(o.keepalive->idle, 7s);
  EXPECT_EQ(o.keepalive->interval, 2s);
  EXPECT_EQ(o.keepalive->count, 4);
  ASSERT_TRUE(o.linger);
  ASSERT_TRUE(*o.linger);
  EXPECT_EQ(**o.linger, Nanos(0));
  EXPECT_EQ(o.tcp_user_timeout, Nanos(0));
  EXPECT_EQ(o.rcvtimeo, Nanos(250ms));
  EXPECT_EQ(o.sndtimeo, Nanos(0));
  EXPECT_EQ(o.nodelay, true);
  EXPECT_FALSE(o.quickack);
  EXPECT_EQ(o.syn_count, 2);
  EXPECT_EQ(o.sndbuf, 4096);
  ASSERT_EQ(o.raw.size(), 1u);
  EXPECT_EQ(o.raw[0].int_value, -5);
  // "on" and a partial object: 0 = not set on the socket (the host's sysctl applies).
  auto on = parse_socket_options(json::parse(R"({"keepalive": "on"})"), "/s", issues, "f");
  ASSERT_TRUE(on.keepalive);
  EXPECT_TRUE(on.keepalive->enabled);
  EXPECT_EQ(on.keepalive->idle, 0s);
  EXPECT_EQ(on.keepalive->interval, 0s);
  EXPECT_EQ(on.keepalive->count, 0);
  auto partial = parse_socket_options(json::parse(R"({"keepalive": {"count": 2}})"), "/s", issues, "f");
  ASSERT_TRUE(partial.keepalive);
  EXPECT_TRUE(partial.keepalive->enabled);
  EXPECT_EQ(partial.keepalive->idle, 0s);
  EXPECT_EQ(partial.keepalive->count, 2);
  EXPECT_NO_ISSUES(issues);
  auto off = parse_socket_options(json::parse(R"({"keepalive": "off", "linger": "off"})"), "/s", issues, "f");
  ASSERT_TRUE(off.keepalive);
  EXPECT_FALSE(off.keepalive->enabled);
  ASSERT_TRUE(off.linger);
  EXPECT_FALSE(*off.linger);
}

TEST(Validate, HostsSysctlsAndLinks) {
  auto issues = issues_of(R"({"name": "t",
  "hosts": {
    "client": { "sysctl": { "kernel.pid_max": 5, "net.core.rmem_max": 1, "net.ipv4.tcp_retries2": 1.5,
                            "net.ipv4.tcp_rmem": "4096 131072 6291456", "net..x": 1 } },
    "server": {},
    "Proxy": {},
    "lonely": {}
  },
  "links": [ ["client", "server"], ["client", "nowhere"], ["server", "server"], ["server", "client"], "x" ],
  "client": { "connect": "proxy:7000" },
  "server": { "on": "srv" },
  "faults": [ { "kind": "kill", "on": "db" } ],
  "expect": [ { "undetected": true, "host": "nohost" } ]
})");
  EXPECT_ISSUE(issues, "/hosts/client/sysctl/kernel.pid_max", "only per-network-namespace net.* sysctls are accepted");
  EXPECT_ISSUE(issues, "/hosts/client/sysctl/net.core.rmem_max", "not per network namespace");
  EXPECT_ISSUE(issues, "/hosts/client/sysctl/net.ipv4.tcp_retries2", "expected a whole number or a one-line string");
  EXPECT_ISSUE(issues, "/hosts/client/sysctl/net..x", "net.* sysctl");
  EXPECT_EQ(find_issue(issues, "/hosts/client/sysctl/net..x"), find_issue(issues, "/hosts/client/sysctl/net..x"));
  EXPECT_ISSUE(issues, "/hosts/Proxy", "host name of lowercase letters");
  EXPECT_ISSUE(issues, "/hosts/lonely", "not connected");
  EXPECT_ISSUE(issues, "/links/1/1", "expected a declared host");
  EXPECT_ISSUE(issues, "/links/2", "two different hosts");
  EXPECT_ISSUE(issues, "/links/3", "already listed");
  EXPECT_ISSUE(issues, "/links/4", "pair of host names");
  EXPECT_ISSUE(issues, "/client/connect", "got \"proxy\"");
  EXPECT_ISSUE(issues, "/server/on", "got \"srv\"");
  EXPECT_ISSUE(issues, "/faults/0/on", "got \"db\"");
  EXPECT_ISSUE(issues, "/expect/0/host", "got \"nohost\"");
  EXPECT_EQ(find_issue(issues, "/links/2")->line, 9);
}

TEST(Validate, HostsOmittedMeansClientServerPlusHostsNamedInLinks) {
  auto s = load_scenario_json(with(R"({"links": [["client", "proxy"], ["proxy", "server"]],
      "server": {"behavior": "proxy", "upstream": "server:7001", "on": "proxy"}})"));
  ASSERT_EQ(s.hosts.size(), 3u);
  EXPECT_EQ(s.hosts[2].name, "proxy");
  EXPECT_EQ(s.links.size(), 2u);
  // A host neither declared nor linked is an error.
  auto issues = issues_of_json(with(R"({"server": {"on": "sever"}})"));
  EXPECT_ISSUE(issues, "/server/on", "expected a declared host (\"client\" or \"server\"); got \"sever\"");
  // Declared hosts without client/server and without links.
  issues = issues_of_json(with(R"({"hosts": {"a": {}, "b": {}}})"));
  EXPECT_ISSUE(issues, "/hosts", "declare them or give \"links\"");
}

TEST(Validate, ServerBehaviors) {
  auto issues = issues_of_json(with(R"({"server": {"behavior": "command"}})"));
  EXPECT_ISSUE(issues, "/server", "\"command\" key");
  issues = issues_of_json(with(R"({"server": {"behavior": "command", "command": "nginx -c x"}})"));
  EXPECT_ISSUE(issues, "/server/command", "split it into its arguments");
  issues = issues_of_json(with(R"({"server": {"behavior": "echo", "command": ["x"], "response": "hi", "close": "after-response"}})"));
  EXPECT_ISSUE(issues, "/server/command", "for behavior \"command\" only");
  EXPECT_ISSUE(issues, "/server/response", "for behavior \"respond\" only");
  EXPECT_ISSUE(issues, "/server/close", "needs behavior \"respond\"");
  issues = issues_of_json(with(R"({"server": {"behavior": "proxy"}})"));
  EXPECT_ISSUE(issues, "/server", "\"upstream\" key");
  issues = issues_of_json(with(R"({"server": {"behavior": "proxy", "upstream": "10.0.0.1:80"}})"));
  EXPECT_ISSUE(issues, "/server/upstream", "not addresses");
  issues = issues_of_json(with(R"({"server": {"behavior": "proxy", "upstream": "server:0"}})"));
  EXPECT_ISSUE(issues, "/server/upstream", "port from 1 to 65535");
  auto s = load_scenario_json(with(R"({"server": {"behavior": "respond", "response": "ok\n", "close": "after-response"}})"));
  EXPECT_EQ(s.server.response, "ok\n");
  EXPECT_EQ(name(s.server.close), "after-response");
  s = load_scenario_json(with(R"({"requires": {"nginx": "nginx-light"},
                                   "server": {"behavior": "command", "command": ["nginx", "-c", "{dir}/n.conf"]}})"));
  EXPECT_EQ(s.server.command, (std::vector<std::string>{"nginx", "-c", "{dir}/n.conf"}));
}

TEST(Validate, Workloads) {
  auto issues = issues_of_json(with(R"({"client": {"workload": {"kind": "probe", "rate": "10/s"}}})"));
  EXPECT_ISSUE(issues, "/client/workload", "\"count\" key");
  EXPECT_ISSUE(issues, "/client/workload/rate", "without units");
  issues = issues_of_json(with(R"({"client": {"workload": {"kind": "probe", "count": 0}}})"));
  EXPECT_ISSUE(issues, "/client/workload/count", "from 1 to 1000000");
  issues = issues_of_json(with(R"({"client": {"workload": {"kind": "request", "connections": 20000}}})"));
  EXPECT_ISSUE(issues, "/client/workload", "\"duration\" key");
  EXPECT_ISSUE(issues, "/client/workload/connections", "from 1 to 10000");
  issues = issues_of_json(with(R"({"client": {"workload": {"kind": "stream", "rate": "100KiB"}}})"));
  EXPECT_ISSUE(issues, "/client/workload/rate", "ending in \"/s\"");
  issues = issues_of_json(with(R"({"client": {"workload": {"kind": "stream", "duration": "0s"}}})"));
  EXPECT_ISSUE(issues, "/client/workload/duration", "at least");
  issues = issues_of_json(with(R"({"client": {"workload": {"kind": "sprint"}}})"));
  EXPECT_ISSUE(issues, "/client/workload/kind", "expected a workload kind");
  issues = issues_of_json(with(R"({"client": {"workload": {"kind": "command"}}})"));
  EXPECT_ISSUE(issues, "/client/workload", "\"command\" key");
  issues = issues_of_json(with(R"({"client": {"workload": {"count": 3}}})"));
  EXPECT_ISSUE(issues, "/client/workload", "\"kind\" key");

  auto s = load_scenario_json(with(R"({"client": {"workload": {"kind": "probe", "count": 50}}})"));
  EXPECT_EQ(s.client.workload.count, 50);
  EXPECT_EQ(s.client.workload.per_second, 0);  // max
  s = load_scenario_json(with(R"({"client": {"workload": {"kind": "probe", "count": 50, "rate": 20, "request": "x"}}})"));
  EXPECT_EQ(s.client.workload.per_second, 20);
  EXPECT_EQ(s.client.workload.request, "x");
  s = load_scenario_json(with(R"({"client": {"workload": {"kind": "request", "connections": 4, "rate": 100, "duration": "10s"}}})"));
  EXPECT_EQ(s.client.workload.connections, 4);
  EXPECT_EQ(s.client.workload.duration, Nanos(10s));
  EXPECT_FALSE(s.client.workload.request.empty());
  s = load_scenario_json(with(R"({"client": {"workload": {"kind": "command", "command": ["curl", "http://{server}:{port}/"]}}})"));
  EXPECT_EQ(s.client.workload.command.size(), 2u);
}

TEST(Validate, ClientTimeouts) {
  auto issues = issues_of_json(with(R"({"client": {"app_timeout": 5, "connect_timeout": "0s", "connect": "server"}})"));
  EXPECT_ISSUE(issues, "/client/app_timeout", "write \"5s\"");
  EXPECT_ISSUE(issues, "/client/connect_timeout", "at least 1ms");
  EXPECT_ISSUE(issues, "/client/connect", "\"host:port\"");
  auto s = load_scenario_json(with(R"({"client": {"app_timeout": "5s", "connect_timeout": "1s"}})"));
  EXPECT_EQ(s.client.app_timeout, Nanos(5s));
  EXPECT_EQ(s.client.connect_timeout, Nanos(1s));
}

TEST(Validate, Faults) {
  auto issues = issues_of(R"({"name": "t", "faults": [
    { "kind": "drop" },
    { "kind": "drop", "probability": 0 },
    { "kind": "blackhole", "probability": 0.5, "with": "tcp-reset" },
    { "kind": "reject", "with": "icmp-unreachable" },
    { "kind": "pause", "at": "1s" },
    { "kind": "pause", "at": "2s", "until": "1s" },
    { "kind": "kill", "match": { "tcp_flags": "syn" }, "until": "5s" },
    { "kind": "crash", "direction": "sideways" },
    { "kind": "blackhole", "match": { "tcp_flags": "ack", "state": "old", "port": 0 } },
    { "kind": "nuke" },
    { "on": "server" },
    { "kind": "blackhole", "match": {} }
  ]})");
  EXPECT_ISSUE(issues, "/faults/0", "\"probability\" key");
  EXPECT_ISSUE(issues, "/faults/1/probability", "above 0 and at most 1");
  EXPECT_ISSUE(issues, "/faults/2/probability", "kind \"drop\" only");
  EXPECT_ISSUE(issues, "/faults/2/with", "kind \"reject\" only");
  EXPECT_ISSUE(issues, "/faults/3/with", "icmp-port-unreachable");
  // Every fault's until is optional (the contract): a pause without it lasts until the cell ends.
  EXPECT_EQ(find_issue(issues, "/faults/4"), nullptr) << testing::dump_issues(issues);
  EXPECT_ISSUE(issues, "/faults/5/until", "later than at (2s)");
  EXPECT_ISSUE(issues, "/faults/6/match", "packet faults only");
  EXPECT_ISSUE(issues, "/faults/6/until", "use kind \"crash\"");
  EXPECT_ISSUE(issues, "/faults/7/direction", "\"both\", \"in\" or \"out\"");
  EXPECT_ISSUE(issues, "/faults/8/match/tcp_flags", "\"syn\"");
  EXPECT_ISSUE(issues, "/faults/8/match/state", "\"new\" or \"established\"");
  EXPECT_ISSUE(issues, "/faults/8/match/port", "from 1 to 65535");
  EXPECT_ISSUE(issues, "/faults/9/kind", "expected a fault kind");
  EXPECT_ISSUE(issues, "/faults/10", "\"kind\" key");
  EXPECT_ISSUE(issues, "/faults/11/match", "at least one of");
  EXPECT_EQ(find_issue(issues, "/faults/5/until")->line, 7);

  auto s = load_scenario_json(with(R"({"faults": [
      {"kind": "drop", "probability": 0.25, "direction": "in", "match": {"tcp_flags": "syn", "port": 7000}},
      {"kind": "reject", "with": "icmp-admin-prohibited", "on": "client", "at": "1s", "until": "2s"},
      {"kind": "pause", "until": "3s"}, {"kind": "pause", "at": "1s"}]})"));
  ASSERT_EQ(s.faults.size(), 4u);
  EXPECT_FALSE(s.faults[3].until.has_value());
  EXPECT_DOUBLE_EQ(s.faults[0].probability, 0.25);
  EXPECT_EQ(name(s.faults[0].direction), "in");
  EXPECT_EQ(s.faults[0].match.tcp_flags, TcpFlag::syn);
  EXPECT_EQ(s.faults[0].match.port, 7000);
  EXPECT_TRUE(s.faults[0].is_packet_fault());
  EXPECT_EQ(name(s.faults[1].with), "icmp-admin-prohibited");
  EXPECT_EQ(s.faults[1].on, "client");
  EXPECT_EQ(s.faults[1].until, Nanos(2s));
  EXPECT_EQ(s.faults[1].label(), "reject with icmp-admin-prohibited on client (both)");
  EXPECT_FALSE(s.faults[2].is_packet_fault());
  EXPECT_EQ(s.faults[2].at, Nanos(0));
}

TEST(Validate, Expectations) {
  auto issues = issues_of(R"({"name": "t", "expect": [
    { "host": "client" },
    { "undetected": false },
    { "undetected": true, "detected_within": "1s" },
    { "error": "ETIMEOUT" },
    { "error": "exit:300" },
    { "states_max": { "CLOSEWAIT": 0, "TIME_WAIT": -1 } },
    { "time_wait_max": 1, "time_wait_min": 2 },
    { "detected_within": 3 },
    "x",
    { "model_holds": false }
  ]})");
  EXPECT_ISSUE(issues, "/expect/0", "at least one check");
  EXPECT_ISSUE(issues, "/expect/1/undetected", "expected true");
  EXPECT_ISSUE(issues, "/expect/2/undetected", "contradicts");
  EXPECT_ISSUE(issues, "/expect/3/error", "did you mean \"ETIMEDOUT\"");
  EXPECT_ISSUE(issues, "/expect/4/error", "exit:N");
  EXPECT_ISSUE(issues, "/expect/5/states_max/CLOSEWAIT", "did you mean \"CLOSE_WAIT\"");
  EXPECT_ISSUE(issues, "/expect/5/states_max/TIME_WAIT", "of at least 0");
  EXPECT_ISSUE(issues, "/expect/6/time_wait_min", "<= time_wait_max");
  EXPECT_ISSUE(issues, "/expect/7/detected_within", "write \"3s\"");
  EXPECT_ISSUE(issues, "/expect/8", "expected an object");
  EXPECT_ISSUE(issues, "/expect/9/model_holds", "expected true");
  EXPECT_EQ(find_issue(issues, "/expect/3/error")->line, 5);

  auto s = load_scenario_json(with(R"({"expect": [
      {"error": "ECONNRESET", "mechanism": "rst"}, {"error": "app_timeout"}, {"error": "EOF"}, {"error": "exit:7"},
      {"states_max": {"CLOSE_WAIT": 0, "FIN_WAIT2": 3}, "host": "server"},
      {"probe_failures_max": 10, "probe_failures_min": 1, "time_wait_max": 4}, {"model_holds": true}]})"));
  ASSERT_EQ(s.expect.size(), 7u);
  EXPECT_TRUE(s.expect[6].model_holds);
  EXPECT_FALSE(s.expect[5].model_holds);
  EXPECT_EQ(s.expect[0].mechanism, Mechanism::rst);
  EXPECT_EQ(s.expect[4].states_max.at("FIN_WAIT2"), 3);
  EXPECT_EQ(s.expect[4].host, "server");
  EXPECT_EQ(s.expect[5].probe_failures_max, 10);
  EXPECT_EQ(s.expect[5].pointer, "/expect/5");
}

TEST(Validate, WrongTypesForContainers) {
  auto issues = issues_of_json(with(R"({"server": [], "client": "x", "faults": {}, "expect": {}, "matrix": [],
      "hosts": [], "links": {}, "description": 5})"));
  EXPECT_ISSUE(issues, "/server", "expected an object (the server); got a list");
  EXPECT_ISSUE(issues, "/client", "got the string \"x\"");
  EXPECT_ISSUE(issues, "/faults", "expected a list of faults");
  EXPECT_ISSUE(issues, "/expect", "expected a list of checks");
  EXPECT_ISSUE(issues, "/matrix", "JSON Pointer -> list of values");
  EXPECT_ISSUE(issues, "/hosts", "host name -> ");
  EXPECT_ISSUE(issues, "/links", "[hostA, hostB] pairs");
  EXPECT_ISSUE(issues, "/description", "expected a string");
  auto top = issues_of("[1, 2]");
  EXPECT_ISSUE(top, "", "expected an object (the scenario)");
}

TEST(Validate, ParsePiecesForTheAgent) {
  std::vector<InputIssue> issues;
  auto c = parse_client(json::parse(R"({"connect": "server:9000", "workload": {"kind": "stream"}, "socket": {"nodelay": true}})"),
                        issues, "agent");
  EXPECT_NO_ISSUES(issues);
  EXPECT_EQ(c.connect_port, 9000);
  EXPECT_EQ(c.socket.nodelay, true);
  auto s = parse_server(json::parse(R"({"port": 9000, "behavior": "stall", "bogus": 1})"), issues, "agent");
  EXPECT_EQ(s.port, 9000);
  EXPECT_EQ(name(s.behavior), "stall");
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].pointer, "/server/bogus");
  EXPECT_EQ(issues[0].file, "agent");
}

}  // namespace
}  // namespace sockchaos::harness
