#include "reports/merge.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <string>

#include "reports/report_util.hpp"

namespace sockchaos::reports {

namespace {

// Seconds since the epoch for "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)"; nullopt otherwise.
std::optional<double> parse_timestamp(const std::string& text) {
  int year, month, day, hour, minute;
  double second;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%lf%n", &year, &month, &day, &hour,
                  &minute, &second, &consumed) != 6) {
    return std::nullopt;
  }
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

Json compute_summary(const Json& results) {
  int cells = 0, runs = 0, passed = 0, failed = 0, errors = 0;
  for (const Json& scenario : array_member(results, "scenarios")) {
    for (const Json& cell : array_member(scenario, "cells")) {
      CellDigest digest = digest_cell(cell);
      ++cells;
      runs += digest.runs;
      passed += digest.expectations_passed;
      failed += digest.expectations_failed();
      errors += digest.errors;
    }
  }
  Json summary = Json::object();
  summary["cells"] = cells;
  summary["runs"] = runs;
  summary["expectations_passed"] = passed;
  summary["expectations_failed"] = failed;
  summary["errors"] = errors;
  return summary;
}

Json merge_results(const std::vector<Json>& parts) {
  Json merged = Json::object();
  Json scenarios = Json::array();
  std::vector<std::set<std::string>> seen_cells;  // parallel to scenarios
  std::string started;

  for (const Json& part : parts) {
    if (!part.is_object()) continue;
    for (const auto& [key, value] : part.items()) {
      if (key == "scenarios" || key == "summary") continue;
      bool missing = !merged.contains(key) || merged[key].is_null() ||
                     (merged[key].is_string() && merged[key].get<std::string>().empty());
      if (missing) merged[key] = value;
    }
    std::string part_started = string_member(part, "started");
    if (!part_started.empty() && (started.empty() || earlier(part_started, started))) {
      started = part_started;
    }

    for (const Json& scenario : array_member(part, "scenarios")) {
      if (!scenario.is_object()) continue;
      std::string name = string_member(scenario, "name");
      std::string file = string_member(scenario, "file");
      size_t index = 0;
      while (index < scenarios.size() && !(string_member(scenarios[index], "name") == name &&
                                           string_member(scenarios[index], "file") == file)) {
        ++index;
      }
      if (index == scenarios.size()) {
        Json copy = scenario;
        copy["cells"] = Json::array();
        scenarios.push_back(std::move(copy));
        seen_cells.emplace_back();
      }
      Json& target = scenarios[index];
      for (const auto& [key, value] : scenario.items()) {
        if (key == "cells") continue;
        if (!target.contains(key) || target[key].is_null() ||
            (target[key].is_string() && target[key].get<std::string>().empty())) {
          target[key] = value;
        }
      }
      // matrix_axes: union in order of first appearance
      if (scenario.contains("matrix_axes") && scenario["matrix_axes"].is_array()) {
        if (!target.contains("matrix_axes") || !target["matrix_axes"].is_array()) {
          target["matrix_axes"] = Json::array();
        }
        for (const Json& axis : scenario["matrix_axes"]) {
          Json& axes = target["matrix_axes"];
          if (std::find(axes.begin(), axes.end(), axis) == axes.end()) axes.push_back(axis);
        }
      }
      for (const Json& cell : array_member(scenario, "cells")) {
        std::string id = string_member(cell, "id");
        if (!seen_cells[index].insert(id).second) continue;
        target["cells"].push_back(cell);
      }
    }
  }

  if (!started.empty()) merged["started"] = started;
  merged["scenarios"] = std::move(scenarios);
  merged["summary"] = compute_summary(merged);
  return merged;
}

}  // namespace sockchaos::reports
