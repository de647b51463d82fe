// Unit tests of reports/: HTML (escaping, matrix overviews, size bound), JUnit, console, merge.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <sstream>
#include <string>

#include "reports/console.hpp"
#include "reports/html.hpp"
#include "reports/junit.hpp"
#include "reports/merge.hpp"
#include "reports/report_util.hpp"

namespace sockchaos::reports {
namespace {

using Json = nlohmann::ordered_json;

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
  Json results = {{"version", "sockchaos 0.1.0"},
                  {"kernel", "6.1.0"},
                  {"started", "2026-11-21T10:00:00Z"},
                  {"scenarios", std::move(scenarios)}};
  results["summary"] = compute_summary(results);
  return results;
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
  std::string html = render_html_report(wrap(Json::array({scenario})));

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
  std::string html = render_html_report(wrap(Json::array({two_axis_scenario()})));
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
  std::string html = render_html_report(wrap(Json::array({one_axis, no_matrix})));
  EXPECT_EQ(html.find("class=\"heatmap\""), std::string::npos);
  EXPECT_EQ(count_of(html, "<table class=\"matrix sortable\">"), 1u);
  EXPECT_NE(html.find("<span class=\"bar\" style=\"width:"), std::string::npos);
  EXPECT_EQ(count_of(html, "<a class=\"card\""), 1u);
  EXPECT_NE(html.find("<span class=\"card-id\">default</span>"), std::string::npos);
}

TEST(HtmlReport, SummaryAndSelfContained) {
  std::string html = render_html_report(wrap(Json::array({two_axis_scenario()})));
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
  Json results = wrap(Json::array({scenario}));
  std::string html = render_html_report(results);
  EXPECT_LT(html.size(), 2u * 1024 * 1024) << "report is " << html.size() << " bytes";
  EXPECT_EQ(count_of(html, "<svg class=\"timeline chart\""), 100u);
  EXPECT_EQ(count_of(html, "<svg class=\"probe-chart chart\""), 100u);
  EXPECT_EQ(count_of(html, "6000 samples shown as "), 100u);
  // fewer cells keep more detail
  scenario["cells"].erase(scenario["cells"].begin() + 10, scenario["cells"].end());
  std::string small = render_html_report(wrap(Json::array({scenario})));
  EXPECT_EQ(count_of(small, "6000 samples shown as 300 points"), 10u);
  // all 50 events of each cell listed
  EXPECT_EQ(count_of(html, "</td><td>probe-burst</td><td>burst "), 100u * 50u);
}

TEST(HtmlReport, ToleratesMissingAndMistypedKeys) {
  for (const char* text : {
           R"({})",
           R"({"scenarios": 5})",
           R"({"scenarios": [null, 3, {"cells": "x"}]})",
           R"({"scenarios": [{"name": 7, "cells": [{}, {"runs": [null, {"timeline": [1, "x", {"t_ms": "a"}, {"t_ms": 1, "sockets": {"client": 3}}]}]}]}]})",
           R"({"scenarios": [{"matrix_axes": ["/a", "/b"], "cells": [{"id": "a=1", "params": {"/a": 1}, "runs": [{"outcome": "detected", "detection_ms": -5}]}]}]})",
           R"({"scenarios": [{"cells": [{"runs": [{"probes": {"series": [{"t_ms": 1}, {"connect_p99_ms": 3}]}, "requests": {"phases": [{}]}, "command": {"argv": [1, null]}}]}]}]})",
       }) {
    Json results = Json::parse(text);
    std::string html;
    EXPECT_NO_THROW(html = render_html_report(results)) << text;
    EXPECT_NE(html.find("</html>"), std::string::npos);
    EXPECT_NO_THROW(render_junit(results)) << text;
    EXPECT_NO_THROW(format_summary_table(results, true)) << text;
    EXPECT_NO_THROW(merge_results({results, results})) << text;
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
  std::string xml = render_junit(wrap(Json::array({two_axis_scenario(), errored})));

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
  std::string xml = render_junit(wrap(Json::array({scenario})));
  EXPECT_EQ(count_of(xml, "<skipped "), 1u);
  EXPECT_NE(xml.find("skipped=\"1\""), std::string::npos);
}

// ---- console --------------------------------------------------------------------------------

TEST(Console, CellLine) {
  Json scenario = two_axis_scenario();
  EXPECT_EQ(format_cell_line(scenario, scenario["cells"][4]),
            "half-open/tcp_user_timeout=2s keepalive=off: detected 2208.4 ms ETIMEDOUT, "
            "expectations 1/1 passed");
  EXPECT_EQ(format_cell_line(scenario, scenario["cells"][6]),
            "half-open/tcp_user_timeout=5s keepalive=off: detected 5213.9 ms ETIMEDOUT, "
            "expectations 0/1 passed (1 FAILED)");
  EXPECT_EQ(format_cell_line(scenario, scenario["cells"][0]),
            "half-open/tcp_user_timeout=off keepalive=off: undetected, expectations 1/1 passed");
  Json evil = {{"name", "a\x1b]0;pwned\x07"}};
  EXPECT_EQ(format_cell_line(evil, Json::object()).find('\x1b'), std::string::npos);
}

TEST(Console, RepeatedRunsUseMedian) {
  Json cell = make_cell("x=1", Json::object(), make_run("detected", 300.0));
  cell["runs"].push_back(make_run("detected", 100.0));
  cell["runs"].push_back(make_run("detected", 200.0));
  CellDigest digest = digest_cell(cell);
  ASSERT_TRUE(digest.detection_ms);
  EXPECT_DOUBLE_EQ(*digest.detection_ms, 200.0);
  EXPECT_EQ(digest.representative_run, 2u);
  EXPECT_EQ(format_cell_line({{"name", "s"}}, cell),
            "s/x=1: detected 200.0 ms (100-300) ETIMEDOUT, expectations 1/1 passed");
  cell["runs"][1]["outcome"] = "undetected";
  EXPECT_EQ(digest_cell(cell).outcome_label, "detected 2/3");
}

TEST(Console, SummaryTableIsAlignedWithTotals) {
  Json results = wrap(Json::array({two_axis_scenario()}));
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

// ---- merge ----------------------------------------------------------------------------------

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
  Json merged = merge_results({part1, part2});

  ASSERT_EQ(merged["scenarios"].size(), 2u);
  std::vector<std::string> ids;
  for (const Json& cell : merged["scenarios"][0]["cells"]) ids.push_back(cell["id"]);
  std::vector<std::string> expected = {full["cells"][0]["id"], full["cells"][2]["id"], full["cells"][4]["id"],
                                       full["cells"][6]["id"], full["cells"][1]["id"], full["cells"][7]["id"]};
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(merged["scenarios"][1]["file"], "elsewhere/half-open.json");
  EXPECT_EQ(merged["scenarios"][1]["cells"].size(), 1u);
  EXPECT_EQ(merged["started"], "2026-11-21T11:00:00+02:00");
  EXPECT_EQ(merged["summary"]["cells"], 7);
  EXPECT_EQ(merged["summary"]["runs"], 7);
  EXPECT_EQ(merged["summary"]["expectations_passed"], 6);
  EXPECT_EQ(merged["summary"]["expectations_failed"], 1);
  EXPECT_EQ(merged["summary"]["errors"], 0);
  EXPECT_EQ(merged["version"], "sockchaos 0.1.0");
  EXPECT_EQ(merged["kernel"], "6.1.0");
  // key order as in a results file
  std::vector<std::string> keys;
  for (const auto& [key, value] : merged.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"version", "kernel", "started", "scenarios", "summary"}));
}

TEST(Merge, EmptyAndSingle) {
  Json merged = merge_results({});
  EXPECT_EQ(merged["scenarios"].size(), 0u);
  EXPECT_EQ(merged["summary"]["cells"], 0);
  Json one = wrap(Json::array({two_axis_scenario()}));
  EXPECT_EQ(merge_results({one})["scenarios"], one["scenarios"]);
}

}  // namespace
}  // namespace sockchaos::reports
