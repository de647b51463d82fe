// Real programs in scenarios: placeholders and templates, programs and "requires", the keys the
// gallery needed (start_after, half_close_after, idle_timeout, framing, defer_accept,
// tcp_flags mask/value, cleared_after/within), skipped cells, the scratch folder.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <filesystem>
#include <fstream>

#include "harness/model/load.hpp"
#include "harness/model/pointer.hpp"
#include "harness/protocol/agent_spec.hpp"
#include "harness/protocol/socket_options.hpp"
#include "harness/verdict/expectations.hpp"
#include "harness/verdict/results.hpp"
#include "harness/world/faults.hpp"
#include "harness/world/scratch.hpp"
#include "harness/world/topology.hpp"
#include "harness/world/user_command.hpp"
#include "scenario_test_util.hpp"

namespace sockchaos::harness {
namespace {

using namespace std::chrono_literals;
using testing::issues_of_json;

json base() {
  return json::parse(R"({"name": "t", "hosts": {"client": {}, "proxy": {}, "server": {}},
                         "links": [["client", "proxy"], ["proxy", "server"]]})");
}

json with(json doc, const std::string& patch) {
  doc.merge_patch(json::parse(patch));
  return doc;
}

// A template file in a scratch folder, removed with it.
struct TemplateFile {
  ScratchDir dir = std::move(make_scratch_dir("unit").value());
  std::string path;
  explicit TemplateFile(const std::string& text, const std::string& name = "t.conf.in") {
    path = dir.path() + "/" + name;
    std::ofstream(path) << text;
  }
};

TEST(Placeholders, FindsOnlyPlaceholderShapedBraces) {
  const std::string text = "http {\n  listen {port};\n  a{3} {print $1} {} {Port} {{port} {addr:server}\n}";
  auto refs = find_placeholders(text);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].text(), "{port}");
  EXPECT_EQ(refs[0].line, 2);
  EXPECT_EQ(refs[1].name, "addr");
  EXPECT_EQ(refs[1].arg, "server");
  EXPECT_EQ(refs[1].line, 3);
}

TEST(Placeholders, SubstituteUndoesEscapesAndNamesTheLineOfARefusal) {
  auto r = substitute_placeholders("a {x}\n{{x} b {x}", [](const PlaceholderRef&, std::string&) {
    return std::optional<std::string>("1");
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "a 1\n{x} b 1");
  auto bad = substitute_placeholders("ok\n\n{nope}", [](const PlaceholderRef&, std::string& why) {
    why = "unknown";
    return std::optional<std::string>();
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "line 3: {nope}: unknown");
}

TEST(Placeholders, ExpandWithAddressesAndExecArgvWithHostsFile) {
  Placeholders values{"198.18.0.2", "8080", "/srv/conf", "/tmp/x", {{"server", "198.18.0.6"}}};
  EXPECT_EQ(expand_placeholders("http://{server}:{port}/{port}", values).value(), "http://198.18.0.2:8080/8080");
  EXPECT_EQ(expand_placeholders("{dir}/nginx.conf {tmp} {", values).value(), "/srv/conf/nginx.conf /tmp/x {");
  EXPECT_EQ(expand_placeholders("{addr:server}", values).value(), "198.18.0.6");
  EXPECT_FALSE(expand_placeholders("{addr:nope}", values).ok());
  EXPECT_FALSE(expand_placeholders("{other}", values).ok());
  EXPECT_FALSE(expand_placeholders("{addr6:server}", values).ok());
  EXPECT_EQ(exec_argv("/a/agent", {"curl", "{addr:server}"}, values, "/tmp/x/hosts", "client").value(),
            (std::vector<std::string>{"/a/agent", "exec", "--hosts", "/tmp/x/hosts", "--hostname", "client", "--",
                                      "curl", "198.18.0.6"}));
  EXPECT_EQ(exec_argv("/a/agent", {"curl"}, values).value(), (std::vector<std::string>{"/a/agent", "exec", "--", "curl"}));
}

TEST(Placeholders, ProblemsNameTheHostsAndTheList) {
  const std::vector<std::string> hosts{"client", "server"};
  auto check = [&](const std::string& text) { return placeholder_problem(find_placeholders(text).at(0), hosts); };
  EXPECT_EQ(check("{port}"), "");
  EXPECT_EQ(check("{addr:server}"), "");
  EXPECT_NE(check("{addr:proxy}").find("unknown host \"proxy\""), std::string::npos);
  EXPECT_NE(check("{addr6:server}").find("no IPv6 address"), std::string::npos);
  EXPECT_NE(check("{addr}").find("needs a host name"), std::string::npos);
  EXPECT_NE(check("{port:1}").find("takes no argument"), std::string::npos);
  EXPECT_NE(check("{hostname}").find("unknown placeholder {hostname}; expected {server}"), std::string::npos);
}

TEST(Commands, PlaceholdersAndHostsAreCheckedAtLoadWithTheArgumentsPointer) {
  auto issues = issues_of_json(with(base(), R"({"client": {"workload": {"kind": "command",
      "command": ["curl", "http://{addr:server}:{port}/", "{addr:nowhere}", "{bogus}", "{addr6:server}"]}}})"));
  EXPECT_EQ(testing::find_issue(issues, "/client/workload/command/1"), nullptr) << testing::dump_issues(issues);
  EXPECT_ISSUE(issues, "/client/workload/command/2", "unknown host \"nowhere\"");
  EXPECT_ISSUE(issues, "/client/workload/command/3", "unknown placeholder {bogus}");
  EXPECT_ISSUE(issues, "/client/workload/command/3", "is written {{bogus}");
  EXPECT_ISSUE(issues, "/client/workload/command/4", "no IPv6 address");
}

TEST(Commands, AProgramMustBeOnPathOrRequired) {
  auto issues = issues_of_json(with(base(), R"({"server": {"behavior": "command", "command": ["no-such-program-xyz"]}})"));
  EXPECT_ISSUE(issues, "/server/command/0", "command not found on PATH: no-such-program-xyz");
  issues = issues_of_json(with(base(), R"({"server": {"behavior": "command", "command": ["/nonexistent/prog"]}})"));
  EXPECT_ISSUE(issues, "/server/command/0", "no such file");
  TemplateFile plain("not a program\n");  // mode 0644
  auto doc = with(base(), R"({"server": {"behavior": "command"}})");
  doc["server"]["command"] = {plain.path};
  issues = issues_of_json(doc);
  EXPECT_ISSUE(issues, "/server/command/0", "not executable");
  issues = issues_of_json(with(base(), R"({"requires": {"no-such-program-xyz": "xyz-tools"},
      "server": {"behavior": "command", "command": ["no-such-program-xyz"]}})"));
  EXPECT_TRUE(issues.empty()) << testing::dump_issues(issues);
  issues = issues_of_json(with(base(), R"({"requires": {"a/b": "x", "c": "Not A Package"}})"));
  EXPECT_ISSUE(issues, "/requires/a~1b", "absolute path");
  EXPECT_ISSUE(issues, "/requires/c", "Debian package");
  auto s = load_scenario_json(with(base(), R"({"requires": {"nginx": "nginx-light"}})"));
  ASSERT_EQ(s.required_programs.size(), 1u);
  EXPECT_EQ(s.required_programs[0], (std::pair<std::string, std::string>{"nginx", "nginx-light"}));
}

TEST(Commands, MissingRequirementNamesThePackage) {
  EXPECT_EQ(missing_requirement({{"sh", "dash"}}), "");
  EXPECT_EQ(missing_requirement({{"sh", "dash"}, {"no-such-program-xyz", "xyz-tools"}}),
            "needs no-such-program-xyz (not found on PATH): apt-get install xyz-tools");
  EXPECT_EQ(missing_requirement({{"/nonexistent/postgres", "postgresql-15"}}),
            "needs /nonexistent/postgres (not there): apt-get install postgresql-15");
  EXPECT_TRUE(program_available("sh"));
  TemplateFile plain("not a program\n");  // mode 0644
  EXPECT_FALSE(program_available(plain.path));
}

TEST(Commands, TemplatesAreReadAtLoadAndTheirProblemsNameTheirFileAndLine) {
  TemplateFile good("listen {port};\nproxy_pass http://{addr:server}:8081;\nhttp { }\n");
  auto doc = with(base(), R"({"server": {"on": "proxy", "behavior": "command", "command": ["true"]}})");
  doc["server"]["files"] = {{"nginx.conf", good.path}};
  auto issues = issues_of_json(doc);
  EXPECT_TRUE(issues.empty()) << testing::dump_issues(issues);
  EXPECT_EQ(load_scenario_json(doc).server.files.at(0).second, good.path);

  TemplateFile bad("ok\nlisten {prot};\n{addr:db}\n");
  doc["server"]["files"] = {{"nginx.conf", bad.path}};
  issues = issues_of_json(doc);
  ASSERT_EQ(issues.size(), 2u) << testing::dump_issues(issues);
  EXPECT_EQ(issues[0].file, bad.path);
  EXPECT_EQ(issues[0].line, 2);
  EXPECT_EQ(issues[0].pointer, "/server/files/nginx.conf");
  EXPECT_NE(issues[0].message.find("unknown placeholder {prot}"), std::string::npos);
  EXPECT_EQ(issues[1].line, 3);
  EXPECT_NE(issues[1].message.find("unknown host \"db\""), std::string::npos);

  doc["server"]["files"] = {{"nginx.conf", good.dir.path() + "/missing.in"}};
  EXPECT_ISSUE(issues_of_json(doc), "/server/files/nginx.conf", "cannot read the template");
  doc["server"]["files"] = {{"../x", good.path}};
  EXPECT_ISSUE(issues_of_json(doc), "/server/files/..~1x", "plain file name");
  doc["server"]["files"] = {{"x", "{tmp}/x"}};
  EXPECT_ISSUE(issues_of_json(doc), "/server/files/x", "only {dir}");
  // Every role shares {tmp}: one name once.
  doc["server"]["files"] = {{"a.conf", good.path}};
  doc["client"] = {{"workload", {{"kind", "command"}, {"command", {"true"}}}}, {"files", {{"a.conf", good.path}}}};
  EXPECT_ISSUE(issues_of_json(doc), "/client/files/a.conf", "already rendered");
  // files belong to commands
  auto agent = with(base(), R"({"server": {"behavior": "echo", "files": {"a": "b"}}})");
  EXPECT_ISSUE(issues_of_json(agent), "/server/files", "behavior \"command\" only");
}

TEST(Commands, DirIsTheAbsoluteFolderOfTheFileEvenWhenRelative) {
  const std::string cwd = std::filesystem::current_path().string();
  EXPECT_EQ(scenario_dir_of("nginx-proxy.json"), cwd);
  EXPECT_EQ(scenario_dir_of("gallery/x.json"), cwd + "/gallery");
  EXPECT_EQ(scenario_dir_of("/a/b/c.json"), "/a/b");
  EXPECT_EQ(scenario_dir_of("<dict>"), cwd);
  EXPECT_EQ(load_scenario_json(base()).dir, cwd);
}

TEST(Commands, RenderTemplatesWritesIntoTmp) {
  TemplateFile t("listen {port};\nupstream {addr:server}:8081; {{port}\n");
  Placeholders values{"", "8080", t.dir.path(), t.dir.path(), {{"server", "198.18.0.6"}}};
  ASSERT_TRUE(render_templates({{"out.conf", "{dir}/t.conf.in"}}, values).ok());
  std::ifstream in(t.dir.path() + "/out.conf");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "listen 8080;\nupstream 198.18.0.6:8081; {port}\n");
  auto bad = render_templates({{"out.conf", "t.conf.in"}}, Placeholders{"", "8080", t.dir.path(), t.dir.path(), {}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line 2: {addr:server}"), std::string::npos) << bad.error().message;
}

TEST(Scratch, MadeUniqueAndRemovedWithEverythingInIt) {
  std::string path;
  {
    auto a = make_scratch_dir("unit");
    ASSERT_TRUE(a.ok());
    path = a->path();
    EXPECT_NE(path.find("/unit-"), std::string::npos);
    std::filesystem::create_directories(path + "/x/y");
    std::ofstream(path + "/x/y/z") << "data";
    auto b = make_scratch_dir("unit");
    EXPECT_NE(b->path(), path);
    ScratchDir moved = std::move(a.value());
    EXPECT_TRUE(a->empty());
    EXPECT_EQ(moved.path(), path);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(NewKeys, StartAfterIsForStreamAndRequest) {
  auto s = load_scenario_json(with(base(), R"({"client": {"workload": {"kind": "stream", "start_after": "1500ms"}}})"));
  EXPECT_EQ(s.client.workload.start_after, Nanos(1500ms));
  auto issues = issues_of_json(with(base(), R"({"client": {"workload": {"kind": "probe", "count": 1, "start_after": "1s"}}})"));
  EXPECT_ISSUE(issues, "/client/workload/start_after", "\"stream\" and \"request\" workloads only");
  issues = issues_of_json(with(base(), R"({"client": {"workload": {"kind": "request", "duration": "1s", "start_after": 1}}})"));
  EXPECT_ISSUE(issues, "/client/workload/start_after", "duration string");
}

TEST(NewKeys, ACommandClientIsReadyAtItsStartOrOnceConnected) {
  auto doc = with(base(), R"({"client": {"workload": {"kind": "command", "command": ["true"]}}})");
  EXPECT_FALSE(load_scenario_json(doc).client.workload.ready_when_connected);
  doc["client"]["workload"]["ready"] = "connected";
  EXPECT_TRUE(load_scenario_json(doc).client.workload.ready_when_connected);
  doc["client"]["workload"]["ready"] = "start";
  EXPECT_FALSE(load_scenario_json(doc).client.workload.ready_when_connected);
  doc["client"]["workload"]["ready"] = "listening";
  EXPECT_ISSUE(issues_of_json(doc), "/client/workload/ready", "expected \"start\"");
  auto agent = with(base(), R"({"client": {"workload": {"kind": "idle", "ready": "connected"}}})");
  EXPECT_ISSUE(issues_of_json(agent), "/client/workload/ready", "unknown key");
}

TEST(NewKeys, HalfCloseIdleTimeoutFramingOnAgentBehaviors) {
  auto s = load_scenario_json(with(base(), R"({"server": {"behavior": "respond", "half_close_after": "0s",
      "idle_timeout": "2s", "framing": "http"}})"));
  EXPECT_EQ(s.server.half_close_after, Nanos(0));
  EXPECT_EQ(s.server.idle_timeout, Nanos(2s));
  EXPECT_TRUE(s.server.http_framing);
  auto issues = issues_of_json(with(base(), R"({"server": {"behavior": "proxy", "upstream": "server:1",
      "half_close_after": "1s", "framing": "http"}})"));
  EXPECT_ISSUE(issues, "/server/half_close_after", "agent's own behaviors");
  EXPECT_ISSUE(issues, "/server/framing", "behavior \"respond\" only");
  issues = issues_of_json(with(base(), R"({"server": {"behavior": "echo", "idle_timeout": "0s"}})"));
  EXPECT_ISSUE(issues, "/server/idle_timeout", "at least");
  // The upstream server takes commands now, and the new keys.
  s = load_scenario_json(with(base(), R"({"upstream_server": {"on": "server", "port": 8081, "behavior": "command",
      "command": ["true"]}, "server": {"on": "proxy", "behavior": "sink", "idle_timeout": "1s"}})"));
  EXPECT_EQ(s.upstream_server->behavior, ServerBehavior::command);
}

TEST(NewKeys, NewServerKeysRoundTripThroughTheAgentSpec) {
  ServerSpec server;
  server.behavior = ServerBehavior::respond;
  server.half_close_after = Nanos(250ms);
  server.idle_timeout = Nanos(3s);
  server.http_framing = true;
  server.socket.defer_accept = Nanos(5s);
  auto back = parse_agent_spec(make_server_agent_spec(server, "198.18.0.2", ""));
  EXPECT_EQ(back.server.half_close_after, server.half_close_after);
  EXPECT_EQ(back.server.idle_timeout, server.idle_timeout);
  EXPECT_TRUE(back.server.http_framing);
  EXPECT_EQ(back.server.socket.defer_accept, Nanos(5s));
  ClientSpec client;
  client.workload.kind = WorkloadKind::stream;
  client.workload.start_after = Nanos(2s);
  EXPECT_EQ(parse_agent_spec(make_client_agent_spec(client, "198.18.0.2")).client.workload.start_after, Nanos(2s));
}

TEST(NewKeys, DeferAcceptIsPlannedInSeconds) {
  auto s = load_scenario_json(with(base(), R"({"server": {"socket": {"defer_accept": "5s"}}})"));
  auto plan = plan_socket_options(s.server.socket);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].level, IPPROTO_TCP);
  EXPECT_EQ(plan[0].name, TCP_DEFER_ACCEPT);
  EXPECT_EQ(plan[0].label, "IPPROTO_TCP/TCP_DEFER_ACCEPT=5");
  s = load_scenario_json(with(base(), R"({"server": {"socket": {"defer_accept": "off"}}})"));
  EXPECT_EQ(plan_socket_options(s.server.socket).at(0).label, "IPPROTO_TCP/TCP_DEFER_ACCEPT=0");
  EXPECT_ISSUE(issues_of_json(with(base(), R"({"server": {"socket": {"defer_accept": "500ms"}}})")),
               "/server/socket/defer_accept", "at least 1s");
}

TEST(NewKeys, TcpFlagsMaskAndValueBecomeOneNftablesMatch) {
  auto doc = with(base(), R"({"faults": [{"kind": "blackhole", "on": "server", "direction": "in",
      "match": {"tcp_flags": {"mask": ["syn", "ack", "fin", "rst", "psh"], "value": ["ack"]}}}]})");
  auto s = load_scenario_json(doc);
  ASSERT_TRUE(s.faults[0].match.tcp_flag_mask);
  EXPECT_EQ(s.faults[0].match.tcp_flag_mask->mask, 0x1f);
  EXPECT_EQ(s.faults[0].match.tcp_flag_mask->value, 0x10);
  EXPECT_FALSE(s.faults[0].match.tcp_flags);
  auto plan = plan_topology(s);
  ASSERT_TRUE(plan.ok());
  auto rules = plan_packet_fault(s.faults[0], 0, plan.value());
  ASSERT_TRUE(rules.ok());
  EXPECT_NE(rules->at(0).install.find("tcp flags & (fin | syn | rst | psh | ack) == ack drop"), std::string::npos)
      << rules->at(0).install;
  // {mask: [syn], value: [syn]} is the "syn" string form (metrics know that one).
  doc["faults"][0]["match"]["tcp_flags"] = {{"mask", {"syn"}}, {"value", {"syn"}}};
  EXPECT_EQ(load_scenario_json(doc).faults[0].match.tcp_flags, TcpFlag::syn);
  doc["faults"][0]["match"]["tcp_flags"] = {{"mask", {"syn"}}, {"value", json::array()}};
  EXPECT_NE(plan_packet_fault(load_scenario_json(doc).faults[0], 0, plan.value())->at(0).install.find("tcp flags & syn == 0x0"),
            std::string::npos);
  doc["faults"][0]["match"]["tcp_flags"] = {{"mask", {"syn", "bogus"}}, {"value", {"ack"}}, {"x", 1}};
  auto issues = issues_of_json(doc);
  EXPECT_ISSUE(issues, "/faults/0/match/tcp_flags/mask/1", "TCP flag name");
  EXPECT_ISSUE(issues, "/faults/0/match/tcp_flags/x", "unknown key");
  doc["faults"][0]["match"]["tcp_flags"] = {{"mask", {"syn"}}, {"value", {"ack"}}};
  EXPECT_ISSUE(issues_of_json(doc), "/faults/0/match/tcp_flags/value", "in mask too");
  doc["faults"][0]["match"]["tcp_flags"] = "syn";
  EXPECT_EQ(load_scenario_json(doc).faults[0].match.tcp_flags, TcpFlag::syn);
}

json run_with_cleared(std::optional<double> established_cleared) {
  json cleared = json::object();
  cleared["ESTABLISHED"] = established_cleared ? json(*established_cleared) : json(nullptr);
  return {{"outcome", "undetected"},
          {"sockets",
           {{"server", {{"peak", {{"ESTABLISHED", 1}}}, {"cleared_ms", cleared}, {"census", {{"samples", 20}}}}}}}};
}

TEST(NewKeys, ClearedAfterAndWithinJudgeAnyState) {
  json doc = with(base(), R"({"observe": "10s", "expect": [
      {"host": "server", "cleared_after": {"ESTABLISHED": "4.9s"}, "cleared_within": {"ESTABLISHED": "6.5s"}}]})");
  Cell cell = expand_cells(load_scenario_json(doc)).at(0);
  auto r = evaluate_expectations(cell, testing::runs_of(json::array({run_with_cleared(5400.0)})));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].check, "cleared_after ESTABLISHED 4.9s (server)");
  EXPECT_EQ(r[0].pointer, "/expect/0/cleared_after/ESTABLISHED");
  EXPECT_TRUE(r[0].passed);
  EXPECT_TRUE(r[1].passed);
  EXPECT_EQ(r[1].detail, "ESTABLISHED on server cleared 5400.0 ms after the workload ended");
  r = evaluate_expectations(cell, testing::runs_of(json::array({run_with_cleared(std::nullopt)})));
  EXPECT_TRUE(r[0].passed);   // never cleared: it lasted at least that long
  EXPECT_FALSE(r[1].passed);  // but it did not clear within
  r = evaluate_expectations(cell, testing::runs_of(json::array({run_with_cleared(3000.0)})));
  EXPECT_FALSE(r[0].passed);
  // Judged only while observed.
  doc["observe"] = "5s";
  EXPECT_ISSUE(issues_of_json(doc), "/expect/0/cleared_within/ESTABLISHED", "cannot be judged");
  doc["expect"][0]["cleared_after"] = {{"NOT_A_STATE", "1s"}};
  EXPECT_ISSUE(issues_of_json(doc), "/expect/0/cleared_after/NOT_A_STATE", "unknown key");
}

TEST(Skipped, ACellWhoseRunsWereSkippedIsNotJudgedAndDoesNotFail) {
  json doc = with(base(), R"({"expect": [{"undetected": true}, {"time_wait_max": 0}]})");
  Cell cell = expand_cells(load_scenario_json(doc)).at(0);
  RunResult skipped;
  skipped.outcome = Outcome::skipped;
  skipped.error_detail = "needs nginx (not found on PATH): apt-get install nginx-light";
  CellResult c = judge_cell(cell, {skipped});
  EXPECT_TRUE(c.expectations.empty());
  EXPECT_EQ(c.skipped_runs(), 1);
  EXPECT_TRUE(c.passed());
}

TEST(Files, FoldersAreSearchedRecursively) {
  auto files = collect_scenario_files({SOCKCHAOS_SCENARIO_DIR});
  EXPECT_NE(std::find(files.begin(), files.end(), std::string(SOCKCHAOS_SCENARIO_DIR) + "/gallery/nginx-proxy.json"),
            files.end());
  EXPECT_EQ(std::count_if(files.begin(), files.end(), [](const std::string& f) { return f.find("schema.json") != std::string::npos; }),
            0);
}

}  // namespace
}  // namespace sockchaos::harness
