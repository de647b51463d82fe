#include "reports/junit.hpp"

#include <cstdio>

#include "reports/report_util.hpp"

namespace sockchaos::reports {

namespace {

std::string seconds(double ms) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3f", ms > 0 ? ms / 1000.0 : 0.0);
  return buffer;
}

struct CaseXml {
  std::string xml;
  bool failed = false, errored = false, skipped = false;
  double duration_ms = 0;
};

CaseXml render_case(const std::string& scenario_name, const Json& cell) {
  CellDigest digest = digest_cell(cell);
  CaseXml result;
  result.duration_ms = digest.duration_ms;

  std::string& x = result.xml;
  x += "    <testcase classname=\"" + xml_escape(scenario_name) + "\" name=\"" +
       xml_escape(cell_display_id(cell)) + "\" time=\"" + seconds(digest.duration_ms) + "\">\n";

  // Failed expectations: one <failure>, message = every failed check with what was measured.
  std::string message, body;
  for (const Json& expectation : array_member(cell, "expectations")) {
    const Json* passed = member(expectation, "passed");
    if (passed != nullptr && passed->is_boolean() && passed->get<bool>()) continue;
    std::string line = string_member(expectation, "check", "expectation");
    std::string detail = string_member(expectation, "detail");
    if (!detail.empty()) line += ": measured " + detail;
    if (!message.empty()) message += "; ";
    message += line;
    body += line + "\n";
  }
  if (!message.empty()) {
    result.failed = true;
    body += "outcome: " + digest.outcome_label + ", detection: " + format_ms(digest.detection_ms) +
            (digest.error.empty() ? "" : ", error: " + digest.error) + "\n";
    x += "      <failure message=\"" + xml_escape(message) + "\" type=\"expectation\">" +
         xml_escape(body) + "</failure>\n";
  }

  // Runs that could not be carried out (setup failure, agent crash): <error>.
  std::string error_message, error_body;
  const Json& runs = array_member(cell, "runs");
  for (size_t i = 0; i < runs.size(); ++i) {
    if (string_member(runs[i], "outcome") != "error") continue;
    std::string what = "run " + std::to_string(i + 1) + ": " +
                       string_member(runs[i], "error", "error");
    std::string detail = string_member(runs[i], "error_detail");
    if (!detail.empty()) what += " (" + detail + ")";
    if (!error_message.empty()) error_message += "; ";
    error_message += what;
    error_body += what + "\n";
  }
  if (!error_message.empty()) {
    result.errored = true;
    x += "      <error message=\"" + xml_escape(error_message) + "\" type=\"run-error\">" +
         xml_escape(error_body) + "</error>\n";
  }

  if (!result.failed && !result.errored && digest.outcome == "skipped") {
    result.skipped = true;
    x += "      <skipped message=\"all runs skipped\"/>\n";
  }

  std::string out = "outcome: " + digest.outcome_label + "\ndetection: " +
                    format_ms(digest.detection_ms) + "\n";
  if (!digest.error.empty()) out += "error: " + digest.error + "\n";
  if (!digest.mechanism.empty()) out += "mechanism: " + digest.mechanism + "\n";
  out += "expectations: " + std::to_string(digest.expectations_passed) + "/" +
         std::to_string(digest.expectations_total) + " passed\n";
  std::string err;
  for (const Json& run : runs) {
    const Json& command = object_member(run, "command");
    std::string command_out = string_member(command, "stdout");
    std::string command_err = string_member(command, "stderr");
    if (!command_out.empty()) out += "--- command stdout ---\n" + command_out + "\n";
    if (!command_err.empty()) err += command_err + "\n";
  }
  x += "      <system-out>" + xml_escape(out) + "</system-out>\n";
  if (!err.empty()) x += "      <system-err>" + xml_escape(err) + "</system-err>\n";
  x += "    </testcase>\n";
  return result;
}

}  // namespace

std::string render_junit(const Json& results) {
  std::string suites;
  int total_tests = 0, total_failures = 0, total_errors = 0, total_skipped = 0;
  double total_ms = 0;
  std::string started = string_member(results, "started");

  for (const Json& scenario : array_member(results, "scenarios")) {
    std::string name = string_member(scenario, "name", "unnamed");
    std::string cases;
    int tests = 0, failures = 0, errors = 0, skipped = 0;
    double suite_ms = 0;
    for (const Json& cell : array_member(scenario, "cells")) {
      CaseXml one = render_case(name, cell);
      cases += one.xml;
      ++tests;
      failures += one.failed;
      errors += one.errored;
      skipped += one.skipped;
      suite_ms += one.duration_ms;
    }
    suites += "  <testsuite name=\"" + xml_escape(name) + "\" tests=\"" + std::to_string(tests) +
              "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
              std::to_string(errors) + "\" skipped=\"" + std::to_string(skipped) +
              "\" time=\"" + seconds(suite_ms) + "\"";
    if (!started.empty()) suites += " timestamp=\"" + xml_escape(started) + "\"";
    suites += ">\n    <properties>\n";
    auto property = [&](const char* key, const std::string& value) {
      if (value.empty()) return;
      suites += "      <property name=\"" + std::string(key) + "\" value=\"" + xml_escape(value) +
                "\"/>\n";
    };
    property("file", string_member(scenario, "file"));
    property("description", string_member(scenario, "description"));
    property("kernel", string_member(results, "kernel"));
    property("version", string_member(results, "version"));
    suites += "    </properties>\n" + cases + "  </testsuite>\n";
    total_tests += tests;
    total_failures += failures;
    total_errors += errors;
    total_skipped += skipped;
    total_ms += suite_ms;
  }

  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites name=\"sockchaos\" tests=\"" + std::to_string(total_tests) +
         "\" failures=\"" + std::to_string(total_failures) + "\" errors=\"" +
         std::to_string(total_errors) + "\" skipped=\"" + std::to_string(total_skipped) +
         "\" time=\"" + seconds(total_ms) + "\">\n";
  xml += suites;
  xml += "</testsuites>\n";
  return xml;
}

}  // namespace sockchaos::reports
