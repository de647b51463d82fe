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

CaseXml render_case(const std::string& scenario_name, const harness::CellResult& cell) {
  CellDigest digest = digest_cell(cell);
  CaseXml result;
  result.duration_ms = digest.duration_ms;

  std::string& x = result.xml;
  x += "    <testcase classname=\"" + xml_escape(scenario_name) + "\" name=\"" +
       xml_escape(cell_display_id(cell)) + "\" time=\"" + seconds(digest.duration_ms) + "\">\n";

  // Failed expectations: one <failure>, message = every failed check with what was measured.
  std::string message, body;
  for (const harness::ExpectationResult& expectation : cell.expectations) {
    if (expectation.passed) continue;
    std::string line = expectation.check;
    if (!expectation.detail.empty()) line += ": measured " + expectation.detail;
    if (!message.empty()) message += "; ";
    message += line;
    body += line + "\n";
  }
  if (cell.expectations_failed() > 0) {
    result.failed = true;
    body += "outcome: " + digest.outcome_label + ", detection: " + format_ms(digest.detection_ms) +
            (digest.error.empty() ? "" : ", error: " + digest.error) + "\n";
    x += "      <failure message=\"" + xml_escape(message) + "\" type=\"expectation\">" + xml_escape(body) +
         "</failure>\n";
  }

  // Runs that could not be carried out (setup failure, agent crash): <error>.
  std::string error_message, error_body;
  for (size_t i = 0; i < cell.runs.size(); ++i) {
    const harness::RunResult& run = cell.runs[i];
    if (run.outcome != harness::Outcome::error) continue;
    std::string what = "run " + std::to_string(i + 1) + ": " + run.error.value_or("error");
    if (run.error_detail && !run.error_detail->empty()) what += " (" + *run.error_detail + ")";
    if (!error_message.empty()) error_message += "; ";
    error_message += what;
    error_body += what + "\n";
  }
  if (cell.errored_runs() > 0) {
    result.errored = true;
    x += "      <error message=\"" + xml_escape(error_message) + "\" type=\"run-error\">" + xml_escape(error_body) +
         "</error>\n";
  }

  if (!result.failed && !result.errored && digest.outcome == "skipped") {
    result.skipped = true;
    x += "      <skipped message=\"all runs skipped\"/>\n";
  }

  std::string out = "outcome: " + digest.outcome_label + "\ndetection: " + format_ms(digest.detection_ms) + "\n";
  if (!digest.error.empty()) out += "error: " + digest.error + "\n";
  if (!digest.mechanism.empty()) out += "mechanism: " + digest.mechanism + "\n";
  out += "expectations: " + std::to_string(digest.expectations_passed()) + "/" +
         std::to_string(digest.expectations_total) + " passed\n";
  std::string err;
  for (const harness::RunResult& run : cell.runs) {
    if (!run.command) continue;
    if (const auto& client = run.command->client) {
      if (!client->stdout_text.empty()) out += "--- command stdout ---\n" + client->stdout_text + "\n";
      if (!client->stderr_text.empty()) err += client->stderr_text + "\n";
    }
    if (const auto& server = run.command->server) {
      if (!server->stdout_text.empty()) out += "--- server command stdout ---\n" + server->stdout_text + "\n";
      if (!server->stderr_text.empty()) err += "--- server command stderr ---\n" + server->stderr_text + "\n";
    }
  }
  x += "      <system-out>" + xml_escape(out) + "</system-out>\n";
  if (!err.empty()) x += "      <system-err>" + xml_escape(err) + "</system-err>\n";
  x += "    </testcase>\n";
  return result;
}

}  // namespace

std::string render_junit(const harness::Results& results) {
  std::string suites;
  int total_tests = 0, total_failures = 0, total_errors = 0, total_skipped = 0;
  double total_ms = 0;

  for (const harness::ScenarioResult& scenario : results.scenarios) {
    std::string cases;
    int tests = 0, failures = 0, errors = 0, skipped = 0;
    double suite_ms = 0;
    for (const harness::CellResult& cell : scenario.cells) {
      CaseXml one = render_case(scenario.name, cell);
      cases += one.xml;
      ++tests;
      failures += one.failed;
      errors += one.errored;
      skipped += one.skipped;
      suite_ms += one.duration_ms;
    }
    suites += "  <testsuite name=\"" + xml_escape(scenario.name) + "\" tests=\"" + std::to_string(tests) +
              "\" failures=\"" + std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
              "\" skipped=\"" + std::to_string(skipped) + "\" time=\"" + seconds(suite_ms) + "\"";
    if (!results.started.empty()) suites += " timestamp=\"" + xml_escape(results.started) + "\"";
    suites += ">\n    <properties>\n";
    auto property = [&](const char* key, const std::string& value) {
      if (value.empty()) return;
      suites += "      <property name=\"" + std::string(key) + "\" value=\"" + xml_escape(value) + "\"/>\n";
    };
    property("file", scenario.file);
    property("description", scenario.description);
    property("kernel", results.kernel);
    property("version", results.version);
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
