// Unit tests of reports/: HTML (escaping, matrix overviews, socket scenarios, size bound), JUnit,
// console; and merging shards (harness::merge_results) as the report command uses it.
//
// Inputs are written as results.json and read through harness::results_from_json, the way every
// report is made (the CLI's `report`, the bindings, the browser fixture).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>
#include <string>

#include "harness/verdict/results_json.hpp"
#include "reports/console.hpp"
#include "reports/html.hpp"
#include "reports/junit.hpp"
#include "reports/report_util.hpp"

namespace sockchaos::reports {
namespace {

using Json = sockchaos::json;
using harness::Results;

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

Json make_run(const std::string& outcome, std::optional<double> detection_ms,
              const std::string& error = "ETIMEDOUT", int samples = 40) {
  Json run = {{"outcome", outcome},
              {"detection_ms", detection_ms ? Json(*detection_ms) : Json(nullptr)},
              {"error", error.empty() ? Json(nullptr) : Json(error)},
              {"mechanism", "tcp_user_timeout"},
              {"fault_ms", 500.0},
              {"deadline_ms", 30000.0},
              {"duration_ms", 500.0 + detection_ms.value_or(30000.0)}};
  Json timeline = Json::array();
  for (int i = 0; i < samples; ++i) {
    timeline.push_back({{"t_ms", i * 100.0},
                        {"sockets", {{"client", {{"ESTABLISHED", 1}}}, {"server", {{"ESTABLISHED", 1}}}}}});
  }
  timeline.push_back({{"t_ms", 500.0}, {"event", "fault"}, {"detail", "blackhole on server (both)"}});
  if (detection_ms) {
    timeline.push_back({{"t_ms", 500.0 + *detection_ms}, {"event", "client-error"}, {"detail", "send: " + error}});
  }
  run["timeline"] = std::move(timeline);
  run["faults"] = Json::array({{{"label", "blackhole on server (both)"}, {"installed_ms", 500.0}, {"healed_ms", nullptr}}});
  return run;
}

Json make_cell(const std::string& id, Json params, Json run, bool expectation_passed = true) {
  return {{"id", id},
          {"params", std::move(params)},
          {"runs", Json::array({std::move(run)})},
          {"expectations", Json::array({{{"check", "detected_within 3s"},
                                         {"passed", expectation_passed},
                                         {"detail", expectation_passed ? "2208 ms" : "5012 ms"}}})}};
}

// 4 x 2 matrix: tcp_user_timeout x keepalive; "off" rows undetected, one failed expectation.
Json two_axis_scenario(const std::string& name = "half-open") {
  Json scenario = {{"name", name},
                   {"file", "scenarios/half-open.json"},
                   {"matrix_axes", {"/client/socket/tcp_user_timeout", "/client/socket/keepalive"}},
                   {"cells", Json::array()}};
  for (std::string uto : {"off", "1s", "2s", "5s"}) {
    for (Json keepalive : {Json("off"), Json({{"idle", "1s"}, {"interval", "1s"}, {"count", 3}})}) {
      std::string id = "tcp_user_timeout=" + uto + " keepalive=" + value_label(keepalive);
      Json params = {{"/client/socket/tcp_user_timeout", uto}, {"/client/socket/keepalive", keepalive}};
      Json run = uto == "off" ? make_run("undetected", std::nullopt, "")
                              : make_run("detected", uto == "1s" ? 1204.7 : uto == "2s" ? 2208.4 : 5213.9);
      bool pass = !(uto == "5s" && keepalive.is_string());
      scenario["cells"].push_back(make_cell(id, params, run, pass));
    }
  }
  return scenario;
}

Json wrap(Json scenarios) {
  return {{"version", "sockchaos 0.1.0"},
          {"kernel", "6.1.0"},
          {"started", "2026-11-21T10:00:00Z"},
          {"scenarios", std::move(scenarios)}};
}

// results.json text -> the typed results, checked (throws ScenarioError on bad input).
Results typed(const Json& results) { return harness::results_from_json(results, "<test>"); }
Results typed_scenarios(Json scenarios) { return typed(wrap(std::move(scenarios))); }
harness::CellResult typed_cell(const Json& cell) {
  return typed_scenarios(Json::array({{{"name", "s"}, {"cells", Json::array({cell})}}})).scenarios[0].cells[0];
}

const char* kXss = "<img src=x onerror=alert(1)>";

// ---- HTML -----------------------------------------------------------------------------------

TEST(HtmlReport, EscapesScenarioStringsEverywhere) {
  Json scenario = two_axis_scenario(kXss);
  scenario["description"] = "</script><script>alert(2)</script>";
  scenario["cells"][0]["id"] = "x\" onmouseover=\"alert(3)";
  scenario["cells"][0]["runs"][0]["error_detail"] = "<svg onload=alert(4)>";
  scenario["cells"][0]["runs"][0]["command"] = {{"argv", {"curl", "<b>"}}, {"exit", 7},
                                                {"stdout", "</pre><img src=y onerror=alert(5)>"}};
  std::string html = render_html_report(typed_scenarios(Json::array({scenario})));

  EXPECT_EQ(count_of(lower(html), "<img"), 0u);
  EXPECT_EQ(count_of(lower(html), "<svg onload"), 0u);
  EXPECT_EQ(count_of(html, "onmouseover=\""), 0u);
  EXPECT_NE(html.find("<h2>&lt;img src=x onerror=alert(1)&gt;</h2>"), std::string::npos);
  EXPECT_NE(html.find("&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("x&quot; onmouseover=&quot;alert(3)"), std::string::npos);
  // Only the report's own two scripts; the embedded JSON cannot close its <script>.
  EXPECT_EQ(count_of(lower(html), "<script"), 2u);
  EXPECT_EQ(count_of(lower(html), "</script"), 2u);
}

TEST(HtmlReport, EmbeddedJsonEscapesMarkupCharacters) {
  Json value = {{"name", "</script><!-- & \xE2\x80\xA8"}};
  std::string text = json_for_script(value);
  EXPECT_EQ(text.find('<'), std::string::npos);
  EXPECT_EQ(text.find('>'), std::string::npos);
  EXPECT_EQ(text.find('&'), std::string::npos);
  EXPECT_NE(text.find("\\u003c/script\\u003e"), std::string::npos);
  EXPECT_NE(text.find("\\u2028"), std::string::npos);
  EXPECT_EQ(Json::parse(text)["name"], value["name"]);  // still the same JSON
}

TEST(HtmlReport, TwoAxesGiveHeatmapWithDistinctUndetectedAndFailedCells) {
  std::string html = render_html_report(typed_scenarios(Json::array({two_axis_scenario()})));
  EXPECT_EQ(count_of(html, "<table class=\"heatmap\">"), 1u);
  EXPECT_EQ(count_of(html, "<td class=\"hm o-"), 8u);
  EXPECT_EQ(count_of(html, "<td class=\"hm o-undetected"), 2u);
  EXPECT_EQ(count_of(html, "<td class=\"hm o-detected exp-failed\""), 1u);
  EXPECT_NE(html.find(">never<"), std::string::npos);
  EXPECT_NE(html.find("detection time, log scale"), std::string::npos);
  EXPECT_EQ(html.find("class=\"matrix sortable\""), std::string::npos);
  // rows = first axis values in order, columns = second axis values
  size_t off = html.find("<th scope=\"row\" title=\"/client/socket/tcp_user_timeout = off\">");
  size_t five = html.find("<th scope=\"row\" title=\"/client/socket/tcp_user_timeout = 5s\">");
  EXPECT_NE(off, std::string::npos);
  EXPECT_LT(off, five);
  // hover text carries the value
  EXPECT_NE(html.find("title=\"tcp_user_timeout=2s keepalive=off\ndetected after 2208.4 ms\nerror: ETIMEDOUT"),
            std::string::npos);
  EXPECT_EQ(count_of(html, "<svg class=\"timeline chart\""), 8u);
  EXPECT_NE(html.find("ETIMEDOUT after 2208.4 ms"), std::string::npos);
}

TEST(HtmlReport, OneAxisGivesSortableTableAndNoMatrixGivesCard) {
  Json one_axis = {{"name", "linger"},
                   {"matrix_axes", {"/client/socket/linger"}},
                   {"cells", Json::array({make_cell("linger=off", {{"/client/socket/linger", "off"}},
                                                    make_run("detected", 100.0)),
                                          make_cell("linger=0s", {{"/client/socket/linger", "0s"}},
                                                    make_run("undetected", std::nullopt, ""))})}};
  Json no_matrix = {{"name", "single"},
                    {"cells", Json::array({make_cell("", Json::object(), make_run("detected", 42.0))})}};
  std::string html = render_html_report(typed_scenarios(Json::array({one_axis, no_matrix})));
  EXPECT_EQ(html.find("class=\"heatmap\""), std::string::npos);
  EXPECT_EQ(count_of(html, "<table class=\"matrix sortable\">"), 1u);
  EXPECT_NE(html.find("<span class=\"bar\" style=\"width:"), std::string::npos);
  EXPECT_EQ(count_of(html, "<a class=\"card\""), 1u);
  EXPECT_NE(html.find("<span class=\"card-id\">default</span>"), std::string::npos);
}

// ---- socket scenarios -------------------------------------------------------------------------

// A run of a socket scenario: peaks per host, TIME_WAIT cleared times, probe failures.
Json socket_run(Json sockets, int64_t probe_failures = 0, const std::string& outcome = "undetected") {
  Json run = {{"outcome", outcome},
              {"detection_ms", outcome == "detected" ? Json(2100.0) : Json(nullptr)},
              {"error", outcome == "detected" ? Json("EADDRNOTAVAIL") : Json(nullptr)},
              {"deadline_ms", 30000.0},
              {"duration_ms", 4000.0},
              {"sockets", std::move(sockets)},
              {"probes", {{"attempted", 100}, {"succeeded", 100 - probe_failures},
                          {"failed", probe_failures ? Json({{"EADDRNOTAVAIL", probe_failures}}) : Json::object()}}}};
  run["timeline"] = Json::array({{{"t_ms", 0.0}, {"sockets", {{"client", {{"ESTABLISHED", 1}}}}}},
                                 {{"t_ms", 1000.0}, {"sockets", {{"client", {{"TIME_WAIT", 3}}}}}}});
  return run;
}

Json host(Json peak, std::optional<double> cleared_ms = std::nullopt) {
  return {{"peak", std::move(peak)},
          {"time_wait_cleared_ms", cleared_ms ? Json(*cleared_ms) : Json(nullptr)},
          {"census", {{"samples", 40}, {"errors", 0}}}};
}

Json check(const std::string& text, bool passed = true) {
  return {{"check", text}, {"passed", passed}, {"detail", "-"}, {"pointer", "/expect/0/" + text.substr(0, text.find(' '))}};
}

// 2 x 2 heatmap: fin_timeout x behavior; echo cells leave TIME_WAIT that clears, hold cells
// leave FIN_WAIT2 on the client and CLOSE_WAIT on the server.
Json fin_timeout_scenario() {
  Json scenario = {{"name", "fin-timeout"},
                   {"matrix_axes", {"/hosts/client/sysctl/net.ipv4.tcp_fin_timeout", "/server/behavior"}},
                   {"cells", Json::array()}};
  for (int fin : {5, 60}) {
    for (std::string behavior : {"echo", "hold"}) {
      Json params = {{"/hosts/client/sysctl/net.ipv4.tcp_fin_timeout", fin}, {"/server/behavior", behavior}};
      Json cell = {{"id", "fin=" + std::to_string(fin) + " behavior=" + behavior}, {"params", params}};
      if (behavior == "echo") {
        cell["runs"] = Json::array({socket_run({{"client", host({{"TIME_WAIT", 10}}, 61000.0)},
                                                {"server", host(Json::object())}})});
        cell["expectations"] = Json::array({check("time_wait_min 10 (client)"), check("time_wait_max 10 (client)"),
                                            check("time_wait_cleared_within 65s (client)"),
                                            check("probe_failures_max 0")});
      } else {
        cell["runs"] = Json::array({socket_run({{"client", host({{"FIN_WAIT2", 10}})},
                                                {"server", host({{"CLOSE_WAIT", 200}})}})});
        cell["expectations"] = Json::array({check("time_wait_max 0 (client)"), check("states_min FIN_WAIT2 10 (client)"),
                                            check("states_min CLOSE_WAIT 10 (server)", fin == 60)});
      }
      scenario["cells"].push_back(std::move(cell));
    }
  }
  return scenario;
}

TEST(HtmlReport, SocketScenarioHeatmapShowsItsSocketMetrics) {
  std::string html = render_html_report(typed_scenarios(Json::array({fin_timeout_scenario()})));
  EXPECT_EQ(count_of(html, "<table class=\"heatmap\">"), 1u);
  EXPECT_EQ(count_of(html, "<section class=\"scenario sockets-view\""), 1u);
  EXPECT_EQ(count_of(html, "<td class=\"hm o-undetected sock"), 4u);
  // headline = the first socket check's measurement; the others follow, once per metric
  EXPECT_EQ(count_of(html, "<span class=\"v sock-metric\">TIME_WAIT peak 10</span>"), 2u);
  EXPECT_EQ(count_of(html, "<span class=\"sub sock-metric\">cleared 61.0 s</span>"), 2u);
  EXPECT_EQ(count_of(html, "<span class=\"sub sock-metric\">probe failures 0</span>"), 2u);
  EXPECT_EQ(count_of(html, "<span class=\"v sock-metric\">TIME_WAIT peak 0</span>"), 2u);
  EXPECT_EQ(count_of(html, "<span class=\"sub sock-metric\">FIN_WAIT2 10</span>"), 2u);
  EXPECT_EQ(count_of(html, "<span class=\"sub sock-metric\">CLOSE_WAIT 200 (server)</span>"), 2u);
  // not the detection view
  EXPECT_EQ(html.find(">never<"), std::string::npos);
  EXPECT_EQ(html.find("<span class=\"sub\">undetected</span>"), std::string::npos);
  EXPECT_EQ(html.find("never detected</span>"), std::string::npos);
  EXPECT_NE(html.find("TIME_WAIT peak, log scale"), std::string::npos);
  // a failed socket check still marks its cell
  EXPECT_EQ(count_of(html, "<td class=\"hm o-undetected sock exp-failed\""), 1u);
  // the cell's details line and hover text carry the values too
  EXPECT_NE(html.find("<span class=\"det\">TIME_WAIT peak 10 \xC2\xB7 cleared 61.0 s \xC2\xB7 probe failures 0</span>"),
            std::string::npos);
  EXPECT_NE(html.find("undetected\nTIME_WAIT peak 0\nFIN_WAIT2 10\nCLOSE_WAIT 200 (server)"), std::string::npos);
}

TEST(HtmlReport, SocketScenarioTableAndCard) {
  // One axis: a table whose "sockets" column sorts by the headline; no matrix: a card.
  Json probe = {{"name", "probe-tw"}, {"matrix_axes", {"/client/socket/linger"}}, {"cells", Json::array()}};
  for (std::string linger : {"off", "0s"}) {
    int64_t tw = linger == "off" ? 1000 : 0;
    Json cell = {{"id", "linger=" + linger},
                 {"params", {{"/client/socket/linger", linger}}},
                 {"runs", Json::array({socket_run({{"client", host({{"TIME_WAIT", tw}})}, {"server", host(Json::object())}}),
                                       socket_run({{"client", host({{"TIME_WAIT", tw ? tw - 2 : 0}})},
                                                   {"server", host(Json::object())}})})},
                 {"expectations", Json::array({check("time_wait_max " + std::to_string(tw) + " (client)"),
                                               check("time_wait_max 0 (server)"), check("probe_failures_max 0"),
                                               check("undetected")})}};
    probe["cells"].push_back(std::move(cell));
  }
  Json exhaustion = {{"name", "port-exhaustion"},
                     {"cells", Json::array({{{"id", ""},
                                             {"runs", Json::array({socket_run({{"client", host({{"TIME_WAIT", 10}})}}, 26,
                                                                              "detected")})},
                                             {"expectations", Json::array({check("probe_failures_min 26"),
                                                                           check("error EADDRNOTAVAIL"),
                                                                           check("time_wait_max 10 (client)")})}}})}};
  Json no_census = {{"name", "no-census"},
                    {"cells", Json::array({{{"id", ""},
                                            {"runs", Json::array({socket_run({{"client", host(Json::object())}})})},
                                            {"expectations", Json::array({check("states_max CLOSE_WAIT 0 (server)")})}}})}};
  Json failures_only = {{"name", "failures-only"},
                        {"cells", Json::array({{{"id", ""},
                                                {"runs", Json::array({socket_run({{"client", host(Json::object())}}, 3)})},
                                                {"expectations", Json::array({check("probe_failures_max 0", false)})}}})}};
  std::string html = render_html_report(typed_scenarios(Json::array({probe, exhaustion, no_census, failures_only})));
  EXPECT_EQ(count_of(html, "<section class=\"scenario sockets-view\""), 4u);
  EXPECT_NE(html.find("<th scope=\"col\" class=\"det-col\">sockets</th>"), std::string::npos);
  EXPECT_EQ(html.find("<th scope=\"col\" class=\"det-col\">detection</th>"), std::string::npos);
  // repeated runs give a range; sort key = the largest
  EXPECT_NE(html.find("<td class=\"sock\" data-sort=\"1000\""), std::string::npos);
  EXPECT_NE(html.find("<span class=\"bar-v sock-metric\">TIME_WAIT peak 998\xE2\x80\x93" "1000</span>"),
            std::string::npos);
  EXPECT_NE(html.find("<span class=\"sock-more\"><span class=\"sock-metric\">TIME_WAIT peak 0 (server)</span> &#183; "
                      "<span class=\"sock-metric\">probe failures 0</span></span>"),
            std::string::npos);
  EXPECT_EQ(html.find("<span class=\"bar-v muted\">never</span>"), std::string::npos);
  // cards: detected port exhaustion shows its sockets, then its failures (probe failures go
  // last whatever the check order), its error stays
  EXPECT_NE(html.find("<span class=\"card-big sock-metric\">TIME_WAIT peak 10</span>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"card-sub sock-metric\">probe failures 26</span>"), std::string::npos);
  // probe failures lead when nothing else is checked
  EXPECT_NE(html.find("<span class=\"card-big sock-metric\">probe failures 3</span>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"card-err\">EADDRNOTAVAIL</span>"), std::string::npos);
  // a host without census data says so
  EXPECT_NE(html.find("<span class=\"card-big sock-metric\">no census of server</span>"), std::string::npos);
}

TEST(HtmlReport, DetectionChecksKeepTheDetectionView) {
  // A scenario with a detection-time check keeps the detection view, socket checks or not.
  Json scenario = two_axis_scenario();
  scenario["cells"][0]["expectations"].push_back(check("time_wait_max 0 (client)"));
  std::string html = render_html_report(typed_scenarios(Json::array({scenario})));
  EXPECT_EQ(html.find("sock-metric"), std::string::npos);
  EXPECT_EQ(html.find("sockets-view"), std::string::npos);
  EXPECT_NE(html.find(">never<"), std::string::npos);
  // a run error in a socket scenario shows as an error
  Json sockets = fin_timeout_scenario();
  sockets["cells"][0]["runs"] = Json::array({{{"outcome", "error"}, {"error_detail", "agent crashed"}}});
  html = render_html_report(typed_scenarios(Json::array({sockets})));
  EXPECT_EQ(count_of(html, "<td class=\"hm o-error"), 1u);
  EXPECT_EQ(count_of(html, "<td class=\"hm o-undetected sock"), 3u);
}

TEST(HtmlReport, SummaryAndSelfContained) {
  std::string html = render_html_report(typed_scenarios(Json::array({two_axis_scenario()})));
  EXPECT_NE(html.find("<section id=\"summary\""), std::string::npos);
  EXPECT_NE(html.find("6.1.0"), std::string::npos);
  EXPECT_NE(html.find("sockchaos 0.1.0"), std::string::npos);
  EXPECT_NE(html.find("2026-11-21T10:00:00Z"), std::string::npos);
  EXPECT_NE(html.find("1 expectation failed"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
}

TEST(HtmlReport, HundredCellsWithLongTimelinesStayUnderTwoMegabytes) {
  // 100 cells, each a 10-minute timeline sampled every 100 ms (6000 samples), 2 hosts x 4
  // changing states, plus 6000 probe windows and 50 events.
  Json run = make_run("detected", 1000.0, "ETIMEDOUT", 0);
  Json timeline = Json::array();
  Json series = Json::array();
  for (int i = 0; i < 6000; ++i) {
    double t = i * 100.0;
    int wave = (i * 7) % 23;
    timeline.push_back({{"t_ms", t},
                        {"sockets",
                         {{"client", {{"ESTABLISHED", wave % 5}, {"TIME_WAIT", i * 3 + wave},
                                      {"SYN_SENT", wave % 2}, {"FIN_WAIT2", wave % 3}}},
                          {"server", {{"ESTABLISHED", wave % 4}, {"CLOSE_WAIT", wave % 6},
                                      {"LAST_ACK", wave % 2}, {"TIME_WAIT", wave}}}}}});
    series.push_back({{"t_ms", t}, {"attempted", 100}, {"failed", wave > 20 ? wave : 0},
                      {"connect_p50_ms", 0.1 + i * 0.001}, {"connect_p99_ms", 0.5 + i * 0.01 + wave}});
    if (i % 120 == 0) {
      timeline.push_back({{"t_ms", t}, {"event", "probe-burst"}, {"detail", "burst " + std::to_string(i)}});
    }
  }
  run["timeline"] = std::move(timeline);
  run["probes"] = {{"attempted", 600000}, {"succeeded", 599000}, {"failed", {{"EADDRNOTAVAIL", 1000}}},
                   {"series", std::move(series)}};
  Json scenario = {{"name", "big"}, {"matrix_axes", {"/a", "/b"}}, {"cells", Json::array()}};
  for (int a = 0; a < 10; ++a) {
    for (int b = 0; b < 10; ++b) {
      run["detection_ms"] = 100.0 * (a + 1) * (b + 1);
      scenario["cells"].push_back(make_cell("a=" + std::to_string(a) + " b=" + std::to_string(b),
                                            {{"/a", std::to_string(a)}, {"/b", std::to_string(b)}}, run));
    }
  }
  std::string html = render_html_report(typed_scenarios(Json::array({scenario})));
  EXPECT_LT(html.size(), 2u * 1024 * 1024) << "report is " << html.size() << " bytes";
  EXPECT_EQ(count_of(html, "<svg class=\"timeline chart\""), 100u);
  EXPECT_EQ(count_of(html, "<svg class=\"probe-chart chart\""), 100u);
  EXPECT_EQ(count_of(html, "6000 samples shown as "), 100u);
  // fewer cells keep more detail
  scenario["cells"].erase(scenario["cells"].begin() + 10, scenario["cells"].end());
  std::string small = render_html_report(typed_scenarios(Json::array({scenario})));
  EXPECT_EQ(count_of(small, "6000 samples shown as 300 points"), 10u);
  // all 50 events of each cell listed
  EXPECT_EQ(count_of(html, "</td><td>probe-burst</td><td>burst "), 100u * 50u);
}

// Pointers of the issues results_from_json finds in `text`; empty when it is valid.
std::vector<std::string> issue_pointers(const char* text) {
  try {
    typed(Json::parse(text));
  } catch (const harness::ScenarioError& e) {
    std::vector<std::string> pointers;
    for (const auto& issue : e.issues()) pointers.push_back(issue.pointer);
    return pointers;
  }
  return {};
}

bool has(const std::vector<std::string>& pointers, const std::string& pointer) {
  return std::find(pointers.begin(), pointers.end(), pointer) != pointers.end();
}

TEST(HtmlReport, MistypedResultsAreRefusedWithPointers) {
  // What the report writers used to tolerate is now refused where the file is read, each
  // problem at its place; the writers only ever see checked results.
  EXPECT_TRUE(has(issue_pointers(R"({})"), ""));
  EXPECT_TRUE(has(issue_pointers(R"({"scenarios": 5})"), "/scenarios"));
  auto pointers = issue_pointers(R"({"scenarios": [null, 3, {"cells": "x"}]})");
  EXPECT_TRUE(has(pointers, "/scenarios/0"));
  EXPECT_TRUE(has(pointers, "/scenarios/1"));
  EXPECT_TRUE(has(pointers, "/scenarios/2/cells"));
  pointers = issue_pointers(
      R"({"scenarios": [{"name": 7, "cells": [{}, {"id": "", "runs": [null, {"outcome": "detected", "timeline": [1, "x", {"t_ms": "a"}, {"t_ms": 1, "sockets": {"client": 3}}]}]}]}]})");
  EXPECT_TRUE(has(pointers, "/scenarios/0/name"));
  EXPECT_TRUE(has(pointers, "/scenarios/0/cells/0"));  // no id, no runs
  EXPECT_TRUE(has(pointers, "/scenarios/0/cells/1/runs/0"));
  EXPECT_TRUE(has(pointers, "/scenarios/0/cells/1/runs/1/timeline/0"));
  EXPECT_TRUE(has(pointers, "/scenarios/0/cells/1/runs/1/timeline/1"));
  EXPECT_TRUE(has(pointers, "/scenarios/0/cells/1/runs/1/timeline/2/t_ms"));
  EXPECT_TRUE(has(pointers, "/scenarios/0/cells/1/runs/1/timeline/3/sockets/client"));
  pointers = issue_pointers(
      R"({"scenarios": [{"name": "s", "cells": [{"id": "", "runs": [{"outcome": "found", "command": {"argv": [1, null], "exit": 0}}]}]}]})");
  EXPECT_TRUE(has(pointers, "/scenarios/0/cells/0/runs/0/outcome"));
  EXPECT_TRUE(has(pointers, "/scenarios/0/cells/0/runs/0/command/argv/0"));
  EXPECT_TRUE(has(pointers, "/scenarios/0/cells/0/runs/0/command/argv/1"));
}

TEST(HtmlReport, SparseResultsRender) {
  // Valid results with little in them: no scenarios, no cells, a cell without runs, a run that
  // is only an outcome, a negative detection, probe windows and request phases with nothing
  // but defaults, a command without argv.
  for (const char* text : {
           R"({"scenarios": []})",
           R"({"scenarios": [{"name": "", "cells": []}]})",
           R"({"scenarios": [{"name": "s", "cells": [{"id": "", "runs": []}, {"id": "b", "runs": [{"outcome": "skipped"}]}]}]})",
           R"({"scenarios": [{"name": "s", "matrix_axes": ["/a", "/b"], "cells": [{"id": "a=1", "params": {"/a": 1}, "runs": [{"outcome": "detected", "detection_ms": -5}]}]}]})",
           R"({"scenarios": [{"name": "s", "cells": [{"id": "", "runs": [{"outcome": "undetected", "probes": {"series": [{"t_ms": 1}, {"connect_p99_ms": 3}]}, "requests": {"phases": [{}]}, "command": {"exit": 0}}]}]}]})",
           R"x({"scenarios": [{"name": "s", "cells": [{"id": "", "runs": [{"outcome": "undetected", "sockets": {"client": {"peak": {}}}}], "expectations": [{"check": "time_wait_max 0 (server)", "passed": false}]}]}]})x",
       }) {
    Results results;
    ASSERT_NO_THROW(results = typed(Json::parse(text))) << text;
    std::string html;
    EXPECT_NO_THROW(html = render_html_report(results)) << text;
    EXPECT_NE(html.find("</html>"), std::string::npos);
    EXPECT_NO_THROW(render_junit(results)) << text;
    EXPECT_NO_THROW(format_summary_table(results, true)) << text;
    EXPECT_NO_THROW(harness::merge_results({results, results})) << text;
  }
}

TEST(HtmlReport, InvalidUtf8AndControlCharactersAreReplaced) {
  std::string clean = sanitize_text(std::string("ok\xff\xc3(\x1b[31m\x01\n", 12));
  EXPECT_EQ(clean, "ok\xEF\xBF\xBD\xEF\xBF\xBD([31m\n");
  EXPECT_EQ(html_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

// ---- JUnit ----------------------------------------------------------------------------------

TEST(Junit, OneSuitePerScenarioOneCasePerCellWithFailuresAndErrors) {
  Json errored = {{"name", "errors & <stuff>"},
                  {"cells", Json::array({make_cell("", Json::object(), make_run("error", std::nullopt, "EPERM"))})}};
  errored["cells"][0]["runs"][0]["error_detail"] = "setsockopt: \x1b[1m\"denied\"";
  errored["cells"][0]["runs"][0]["duration_ms"] = 1500;
  std::string xml = render_junit(typed_scenarios(Json::array({two_axis_scenario(), errored})));

  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0), 0u);
  EXPECT_EQ(count_of(xml, "<testsuite "), 2u);
  EXPECT_EQ(count_of(xml, "<testcase "), 9u);
  EXPECT_EQ(count_of(xml, "<failure "), 1u);
  EXPECT_EQ(count_of(xml, "<error "), 1u);
  EXPECT_NE(xml.find("<testsuites name=\"sockchaos\" tests=\"9\" failures=\"1\" errors=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("<testsuite name=\"half-open\" tests=\"8\" failures=\"1\" errors=\"0\""), std::string::npos);
  EXPECT_NE(xml.find("<testcase classname=\"half-open\" name=\"tcp_user_timeout=2s keepalive=off\" time=\"2.708\">"),
            std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"detected_within 3s: measured 5012 ms\" type=\"expectation\">"),
            std::string::npos);
  // escaped names, "default" for a cell without id, no control characters
  EXPECT_NE(xml.find("<testcase classname=\"errors &amp; &lt;stuff&gt;\" name=\"default\" time=\"1.500\">"),
            std::string::npos);
  EXPECT_NE(xml.find("run 1: EPERM (setsockopt: [1m&quot;denied&quot;)"), std::string::npos);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
  // balanced elements
  EXPECT_EQ(count_of(xml, "<testcase "), count_of(xml, "</testcase>"));
  EXPECT_EQ(count_of(xml, "<testsuite "), count_of(xml, "</testsuite>"));
}

TEST(Junit, SkippedCell) {
  Json scenario = {{"name", "s"}, {"cells", Json::array({{{"id", "a=1"}, {"runs", Json::array({{{"outcome", "skipped"}}})}}})}};
  std::string xml = render_junit(typed_scenarios(Json::array({scenario})));
  EXPECT_EQ(count_of(xml, "<skipped "), 1u);
  EXPECT_NE(xml.find("skipped=\"1\""), std::string::npos);
}

// ---- console --------------------------------------------------------------------------------

TEST(Console, CellLine) {
  Results results = typed_scenarios(Json::array({two_axis_scenario()}));
  const harness::ScenarioResult& scenario = results.scenarios[0];
  EXPECT_EQ(format_cell_line(scenario, scenario.cells[4]),
            "half-open/tcp_user_timeout=2s keepalive=off: detected 2208.4 ms ETIMEDOUT, "
            "expectations 1/1 passed");
  EXPECT_EQ(format_cell_line(scenario, scenario.cells[6]),
            "half-open/tcp_user_timeout=5s keepalive=off: detected 5213.9 ms ETIMEDOUT, "
            "expectations 0/1 passed (1 FAILED)");
  EXPECT_EQ(format_cell_line(scenario, scenario.cells[0]),
            "half-open/tcp_user_timeout=off keepalive=off: undetected, expectations 1/1 passed");
  EXPECT_EQ(format_cell_line("a\x1b]0;pwned\x07", harness::CellResult{}).find('\x1b'), std::string::npos);
  harness::CellResult evil_cell;
  evil_cell.id = "x\x1b[2J";
  evil_cell.runs.push_back(harness::RunResult{});  // outcome error
  evil_cell.runs[0].error_detail = "agent: \x1b]52;c;cGF5bG9hZA==\x07";
  std::string line = format_cell_line("s", evil_cell);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(line.find('\x07'), std::string::npos);
  EXPECT_NE(line.find("s/x[2J: error"), std::string::npos) << line;
}

TEST(Console, RepeatedRunsUseMedian) {
  Json cell = make_cell("x=1", Json::object(), make_run("detected", 300.0));
  cell["runs"].push_back(make_run("detected", 100.0));
  cell["runs"].push_back(make_run("detected", 200.0));
  CellDigest digest = digest_cell(typed_cell(cell));
  ASSERT_TRUE(digest.detection_ms);
  EXPECT_DOUBLE_EQ(*digest.detection_ms, 200.0);
  EXPECT_EQ(digest.representative_run, 2u);
  EXPECT_EQ(format_cell_line("s", typed_cell(cell)),
            "s/x=1: detected 200.0 ms (100-300) ETIMEDOUT, expectations 1/1 passed");
  cell["runs"][1]["outcome"] = "undetected";
  EXPECT_EQ(digest_cell(typed_cell(cell)).outcome_label, "detected 2/3");
  // The verdict's own summary (median rounded to 0.1 ms) is what the digest shows.
  cell["summary"] = {{"runs", 3}, {"detected", 2}, {"detection_ms", {{"min", 200.0}, {"median", 250.0}, {"max", 300.0}}}};
  digest = digest_cell(typed_cell(cell));
  EXPECT_DOUBLE_EQ(*digest.detection_ms, 250.0);
  EXPECT_DOUBLE_EQ(*digest.detection_min_ms, 200.0);
}

TEST(Console, DigestCountsAreTheCellsOwn) {
  Json cell = make_cell("x=1", Json::object(), make_run("detected", 300.0), false);
  cell["runs"].push_back(make_run("error", std::nullopt, "EPERM"));
  cell["runs"].push_back({{"outcome", "skipped"}});
  harness::CellResult typed_one = typed_cell(cell);
  CellDigest digest = digest_cell(typed_one);
  EXPECT_EQ(digest.errors, typed_one.errored_runs());
  EXPECT_EQ(digest.skipped, typed_one.skipped_runs());
  EXPECT_EQ(digest.expectations_failed, typed_one.expectations_failed());
  EXPECT_EQ(digest.passed, typed_one.passed());
  EXPECT_FALSE(digest.passed);
  EXPECT_EQ(digest.outcome_label, "error 1/3");
}

TEST(Console, SummaryTableIsAlignedWithTotals) {
  Results results = typed_scenarios(Json::array({two_axis_scenario()}));
  std::string plain = format_summary_table(results, false);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  std::istringstream lines(plain);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) rows.push_back(line);
  ASSERT_EQ(rows.size(), 10u);  // header, 8 cells, totals
  size_t outcome_column = rows[0].find("outcome");
  size_t detection_column = rows[0].find("detection");
  for (size_t i = 1; i <= 8; ++i) {
    EXPECT_TRUE(rows[i].compare(outcome_column, 8, "detected") == 0 ||
                rows[i].compare(outcome_column, 10, "undetected") == 0)
        << rows[i];
    EXPECT_NE(rows[i][detection_column - 1], 'd');  // columns start at the same place
  }
  EXPECT_NE(rows[5].find("2208.4 ms"), std::string::npos);
  EXPECT_EQ(rows[5].find("2208.4 ms"), detection_column);
  EXPECT_EQ(rows[9], "8 cells, 8 runs; expectations: 7 passed, 1 failed; errors: 0");
  std::string colored = format_summary_table(results, true);
  EXPECT_NE(colored.find("\x1b[1;31m1 failed\x1b[0m"), std::string::npos);
}

TEST(Console, ProgressDisplay) {
  std::ostringstream out;
  ProgressDisplay progress(out, 100);
  progress.update(12, 4, 1, 40, 35, 80);
  progress.update(13, 3, 1, 40, 36, -1);
  progress.finish();
  std::string text = out.str();
  EXPECT_EQ(count_of(text, "\r"), 2u);
  EXPECT_NE(text.find("12/40 done  4 running  1 failed  0:35 elapsed  ~1:20 left"), std::string::npos);
  EXPECT_NE(text.find("13/40 done  3 running  1 failed  0:36 elapsed\x1b[K"), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
  std::string narrow = ProgressDisplay::status_text(1, 1, 0, 2, 1, 1, 30);
  EXPECT_LE(narrow.size(), 29u);
  std::string bar = ProgressDisplay::status_text(20, 0, 0, 40, 1, 1, 100);
  EXPECT_NE(bar.find("[###############...............]"), std::string::npos);
}

// ---- evidence: the kernel's model, the packet ladder, tcp_info (issue 11) --------------------

// A busy-sender run with its evidence, typed, then written and read back as results.json.
Results evidence_results(bool holds) {
  Results results = typed_scenarios(Json::array({{{"name", "busy"},
                                                  {"matrix_axes", Json::array({"/client/socket/tcp_user_timeout"})},
                                                  {"cells", Json::array({make_cell("tcp_user_timeout=2s",
                                                                                   {{"/client/socket/tcp_user_timeout", "2s"}},
                                                                                   make_run("detected", 2250.0))})}}}));
  harness::RunResult& run = results.scenarios[0].cells[0].runs[0];
  harness::ModelResult m;
  m.model.mechanism = "tcp_user_timeout";
  m.model.error = "ETIMEDOUT";
  m.model.ms = 2208.0;
  m.model.formula = "first retransmission (one RTO 208 ms) + TCP_USER_TIMEOUT 2000 ms";
  m.model.inputs["base_rto"] = {208, "ms", "measured", "tcp_info.tcpi_rto before the fault"};
  m.model.lo_ms = 2200;
  m.model.hi_ms = holds ? 2300 : 2240;
  m.model.window = "timer wheel slack";
  m.model.source = "net/ipv4/tcp_timer.c: tcp_retransmit_timer";
  m.measured = 2250.0;
  m.check = harness::check(m.model, 2250.0);
  run.model = m;
  run.mechanism_basis = "7 retransmissions, backoff up to 3; TCP_USER_TIMEOUT 2000 ms since the first ended it";
  run.mechanism_from_evidence = true;
  auto packet = [&](double t, const char* kind, const char* direction, uint32_t ordinal) {
    harness::TimelineEntry e;
    e.t_ms = t;
    e.event = "packet";
    e.detail = std::string(direction) + " " + kind;
    e.packet = harness::PacketMark{"client", kind, direction, 1, 1, 1, 100, 502, ordinal, std::nullopt};
    run.timeline.push_back(e);
  };
  packet(-200, "syn", "sent", 0);
  packet(-199.9, "syn_ack", "received", 0);
  packet(520, "tail_loss_probe", "sent", 0);
  for (uint32_t i = 1; i <= 4; ++i) packet(500 + 208.0 * ((1 << i) - 1), "retransmission", "sent", i);
  for (int i = 0; i < 5; ++i) {
    harness::TcpInfoSample s;
    s.t_ms = i * 600.0;
    s.host = "client";
    s.local = "198.18.0.1:40000";
    s.remote = "198.18.0.2:7000";
    s.state = "ESTABLISHED";
    s.info.rto_ms = 208.0 * (1 << i);
    s.info.backoff = i;
    s.info.retransmits = i;
    run.tcp_info.push_back(s);
  }
  return typed(harness::to_json(results));
}

TEST(Evidence, ConsoleShowsTheModelBesideTheMeasurement) {
  Results ok = evidence_results(true), off = evidence_results(false);
  EXPECT_EQ(format_cell_line(ok.scenarios[0], ok.scenarios[0].cells[0]),
            "busy/tcp_user_timeout=2s: detected 2250.0 ms ETIMEDOUT; model 2208.0 ms ok, expectations 1/1 passed");
  EXPECT_EQ(format_cell_line(off.scenarios[0], off.scenarios[0].cells[0]),
            "busy/tcp_user_timeout=2s: detected 2250.0 ms ETIMEDOUT; model 2208.0 ms off +42, expectations 1/1 passed");
  std::string table = format_summary_table(ok, false);
  std::istringstream lines(table);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  ASSERT_NE(header.find("model"), std::string::npos) << table;
  EXPECT_EQ(row.find("2208.0 ms ok"), header.find("model")) << table;
  // Without a model: "-".
  Results none = typed_scenarios(Json::array({two_axis_scenario()}));
  std::string plain = format_summary_table(none, false);
  std::istringstream l2(plain);
  std::getline(l2, header);
  std::getline(l2, row);
  EXPECT_EQ(row.substr(header.find("model"), 2), "- ") << plain;
}

TEST(Evidence, ReportDrawsTheLadderTheTcpInfoChartAndTheModelInEveryTable) {
  std::string html = render_html_report(evidence_results(false));
  // Packet ladder: one arrow per packet, retransmissions and probes marked, the fault shaded.
  ASSERT_EQ(count_of(html, "<svg class=\"ladder chart\""), 1u);
  const size_t ladder = html.find("<svg class=\"ladder chart\"");
  const std::string svg = html.substr(ladder, html.find("</svg>", ladder) - ladder);
  EXPECT_EQ(count_of(svg, "<g class=\"pk "), 7u);
  EXPECT_EQ(count_of(svg, "<g class=\"pk pk-retrans\""), 4u);
  EXPECT_EQ(count_of(svg, "<g class=\"pk pk-probe\""), 1u);
  EXPECT_NE(svg.find("retransmission #4"), std::string::npos);
  EXPECT_NE(svg.find("<g class=\"fault\">"), std::string::npos);
  // tcp_info chart: rto, backoff, retransmits (probes never moved: not drawn).
  const size_t chart = html.find("<svg class=\"tcpinfo chart\"");
  ASSERT_NE(chart, std::string::npos);
  const std::string tsvg = html.substr(chart, html.find("</svg>", chart) - chart);
  EXPECT_NE(tsvg.find("rto (ms, left), max 3328"), std::string::npos) << tsvg.substr(0, 400);
  EXPECT_NE(tsvg.find("backoff (right), max 4"), std::string::npos);
  EXPECT_NE(tsvg.find("retransmits (right), max 4"), std::string::npos);
  EXPECT_EQ(tsvg.find("probes (right)"), std::string::npos);
  // The model: a table per run, a column in the matrix table, the basis.
  EXPECT_NE(html.find("<table class=\"models\">"), std::string::npos);
  EXPECT_NE(html.find("<th scope=\"col\" class=\"model-col\">model</th>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"model-col off\""), std::string::npos);
  EXPECT_NE(html.find("2208.0 ms off +42"), std::string::npos);
  EXPECT_NE(html.find("mechanism (from evidence):"), std::string::npos);
  EXPECT_NE(html.find("tcp_info.tcpi_rto before the fault"), std::string::npos);
  // Self-contained: no external reference appeared.
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
}

// ---- merge (harness::merge_results, what `sockchaos report` renders) ---------------------------

TEST(Merge, ShardsConcatenateDedupeAndRecomputeSummary) {
  Json full = two_axis_scenario();
  Json shard1 = full, shard2 = full;
  shard1["cells"] = Json::array({full["cells"][0], full["cells"][2], full["cells"][4], full["cells"][6]});
  shard2["cells"] = Json::array({full["cells"][1], full["cells"][2], full["cells"][7]});  // [2] is a duplicate
  Json other_file = full;
  other_file["file"] = "elsewhere/half-open.json";
  other_file["cells"] = Json::array({full["cells"][3]});

  Json part1 = wrap(Json::array({shard1}));
  part1["started"] = "2026-11-21T10:05:00Z";
  Json part2 = wrap(Json::array({shard2, other_file}));
  part2["started"] = "2026-11-21T11:00:00+02:00";  // 09:00Z: earlier
  Results merged = harness::merge_results({typed(part1), typed(part2)});

  ASSERT_EQ(merged.scenarios.size(), 2u);
  std::vector<std::string> ids;
  for (const harness::CellResult& cell : merged.scenarios[0].cells) ids.push_back(cell.id);
  std::vector<std::string> expected = {full["cells"][0]["id"], full["cells"][2]["id"], full["cells"][4]["id"],
                                       full["cells"][6]["id"], full["cells"][1]["id"], full["cells"][7]["id"]};
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(merged.scenarios[1].file, "elsewhere/half-open.json");
  EXPECT_EQ(merged.scenarios[1].cells.size(), 1u);
  EXPECT_EQ(merged.started, "2026-11-21T11:00:00+02:00");
  EXPECT_EQ(merged.summary.cells, 7);
  EXPECT_EQ(merged.summary.runs, 7);
  EXPECT_EQ(merged.summary.expectations_passed, 6);
  EXPECT_EQ(merged.summary.expectations_failed, 1);
  EXPECT_EQ(merged.summary.errors, 0);
  EXPECT_EQ(merged.version, "sockchaos 0.1.0");
  EXPECT_EQ(merged.kernel, "6.1.0");
  // key order as in a results file
  std::vector<std::string> keys;
  const Json merged_json = harness::to_json(merged);
  for (const auto& [key, value] : merged_json.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"version", "kernel", "started", "scenarios", "summary"}));
  // and the merged report is the report of the merged cells
  std::string html = render_html_report(merged);
  EXPECT_EQ(count_of(html, "<details class=\"cell "), 7u);
  EXPECT_NE(html.find("1 expectation failed"), std::string::npos);
}

TEST(Merge, EmptyAndSingle) {
  Results merged = harness::merge_results({});
  EXPECT_EQ(merged.scenarios.size(), 0u);
  EXPECT_EQ(merged.summary.cells, 0);
  Results one = typed_scenarios(Json::array({two_axis_scenario()}));
  EXPECT_EQ(harness::to_json(harness::merge_results({one}))["scenarios"], harness::to_json(one)["scenarios"]);
}

}  // namespace
}  // namespace sockchaos::reports
