#include "harness/verdict/results.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "harness/metrics/stats.hpp"
#include "harness/verdict/expectations.hpp"

namespace sockchaos::harness {

std::string tool_version() { return std::string("sockchaos ") + SOCKCHAOS_VERSION; }

std::string kernel_release() {
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  return u.release;
}

std::string iso8601_utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int CellResult::errored_runs() const {
  return static_cast<int>(std::count_if(runs.begin(), runs.end(), [](const RunResult& r) { return r.outcome == Outcome::error; }));
}

int CellResult::skipped_runs() const {
  return static_cast<int>(std::count_if(runs.begin(), runs.end(), [](const RunResult& r) { return r.outcome == Outcome::skipped; }));
}

int CellResult::expectations_failed() const {
  return static_cast<int>(
      std::count_if(expectations.begin(), expectations.end(), [](const ExpectationResult& e) { return !e.passed; }));
}

bool Results::passed() const {
  for (const auto& s : scenarios)
    for (const auto& c : s.cells)
      if (!c.passed()) return false;
  return true;
}

Summary summarize(const std::vector<ScenarioResult>& scenarios) {
  Summary out;
  for (const auto& s : scenarios)
    for (const auto& c : s.cells) {
      ++out.cells;
      out.runs += static_cast<int64_t>(c.runs.size());
      out.errors += c.errored_runs();
      out.expectations_failed += c.expectations_failed();
      out.expectations_passed += static_cast<int64_t>(c.expectations.size()) - c.expectations_failed();
    }
  return out;
}

CellResult judge_cell(const Cell& cell, std::vector<RunResult> runs) {
  CellResult out;
  out.id = cell.id;
  out.params = cell.params;
  out.runs = std::move(runs);
  // A cell whose every run was skipped (a required program is missing) is not judged: its
  // expectations are left out rather than failed, its runs say why (error_detail), and the
  // CLI counts it as skipped (exit 0 unless --require-all).
  const bool all_skipped = !out.runs.empty() && std::all_of(out.runs.begin(), out.runs.end(), [](const RunResult& r) {
                             return r.outcome == Outcome::skipped;
                           });
  if (!all_skipped) out.expectations = evaluate_expectations(cell, out.runs);
  for (const auto& r : out.runs)
    if (r.error_detail && (*r.error_detail == kInterruptedDetail || *r.error_detail == kNotStartedDetail))
      out.interrupted = true;
  std::vector<double> detections;
  for (const auto& r : out.runs)
    if (r.outcome == Outcome::detected && r.detection_ms) detections.push_back(*r.detection_ms);
  std::sort(detections.begin(), detections.end());
  out.summary.runs = static_cast<int64_t>(out.runs.size());
  out.summary.detected = static_cast<int64_t>(detections.size());
  if (!detections.empty())
    out.summary.detection_ms =
        DetectionSpread{detections.front(), std::round(median_sorted(detections) * 10) / 10, detections.back()};
  return out;
}

ScenarioResult scenario_result(const Scenario& scenario, std::vector<CellResult> cells) {
  ScenarioResult out;
  out.name = scenario.name;
  out.file = scenario.file;
  out.description = scenario.description;
  for (const auto& a : scenario.matrix) out.matrix_axes.push_back(a.pointer);
  out.cells = std::move(cells);
  return out;
}

Results make_results(std::vector<ScenarioResult> scenarios, const std::string& started) {
  Results out;
  out.version = tool_version();
  out.kernel = kernel_release();
  out.started = started;
  out.scenarios = std::move(scenarios);
  out.summary = summarize(out.scenarios);
  for (const auto& s : out.scenarios)
    for (const auto& c : s.cells) out.interrupted = out.interrupted || c.interrupted;
  return out;
}

namespace {

// Seconds since the epoch for "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)"; nullopt otherwise.
std::optional<double> parse_timestamp(const std::string& text) {
  int year, month, day, hour, minute;
  double second;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%lf%n", &year, &month, &day, &hour, &minute, &second,
                  &consumed) != 6)
    return std::nullopt;
  // days_from_civil (Howard Hinnant)
  int y = year - (month <= 2);
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  double days = era * 146097.0 + doe - 719468;
  double epoch = days * 86400 + hour * 3600 + minute * 60 + second;
  std::string zone = text.substr(static_cast<size_t>(consumed));
  int zone_hours = 0, zone_minutes = 0;
  if (!zone.empty() && (zone[0] == '+' || zone[0] == '-') &&
      std::sscanf(zone.c_str() + 1, "%2d:%2d", &zone_hours, &zone_minutes) >= 1) {
    double offset = zone_hours * 3600 + zone_minutes * 60;
    epoch += zone[0] == '+' ? -offset : offset;
  }
  return epoch;
}

bool earlier(const std::string& a, const std::string& b) {
  auto ta = parse_timestamp(a), tb = parse_timestamp(b);
  if (ta && tb) return *ta < *tb;
  return a < b;
}

}  // namespace

Results merge_results(const std::vector<Results>& parts) {
  Results merged;
  std::vector<std::set<std::string>> seen_cells;  // parallel to merged.scenarios
  for (const auto& part : parts) {
    merged.interrupted = merged.interrupted || part.interrupted;
    if (merged.version.empty()) merged.version = part.version;
    if (merged.kernel.empty()) merged.kernel = part.kernel;
    if (!part.started.empty() && (merged.started.empty() || earlier(part.started, merged.started)))
      merged.started = part.started;
    for (const auto& scenario : part.scenarios) {
      size_t index = 0;
      while (index < merged.scenarios.size() &&
             !(merged.scenarios[index].name == scenario.name && merged.scenarios[index].file == scenario.file))
        ++index;
      if (index == merged.scenarios.size()) {
        ScenarioResult copy = scenario;
        copy.cells.clear();
        copy.matrix_axes.clear();
        merged.scenarios.push_back(std::move(copy));
        seen_cells.emplace_back();
      }
      ScenarioResult& target = merged.scenarios[index];
      if (target.description.empty()) target.description = scenario.description;
      for (const auto& axis : scenario.matrix_axes)
        if (std::find(target.matrix_axes.begin(), target.matrix_axes.end(), axis) == target.matrix_axes.end())
          target.matrix_axes.push_back(axis);
      for (const auto& cell : scenario.cells)
        if (seen_cells[index].insert(cell.id).second) target.cells.push_back(cell);
    }
  }
  merged.summary = summarize(merged.scenarios);
  return merged;
}

}  // namespace sockchaos::harness
