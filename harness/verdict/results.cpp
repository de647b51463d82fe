#include "harness/verdict/results.hpp"

#include <sys/utsname.h>

#include <ctime>

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

json summarize(const json& results) {
  int64_t cells = 0, runs = 0, passed = 0, failed = 0, errors = 0;
  for (const auto& s : results.value("scenarios", json::array())) {
    for (const auto& c : s.value("cells", json::array())) {
      ++cells;
      for (const auto& r : c.value("runs", json::array())) {
        ++runs;
        if (r.value("outcome", "") == "error") ++errors;
      }
      for (const auto& e : c.value("expectations", json::array()))
        (e.value("passed", false) ? passed : failed)++;
    }
  }
  return {{"cells", cells}, {"runs", runs}, {"expectations_passed", passed},
          {"expectations_failed", failed}, {"errors", errors}};
}

json make_results(const std::vector<ScenarioResults>& scenarios, const std::string& started) {
  json out = json::object();
  out["version"] = tool_version();
  out["kernel"] = kernel_release();
  out["started"] = started;
  json list = json::array();
  for (const auto& sr : scenarios) {
    const Scenario& s = *sr.scenario;
    json axes = json::array();
    for (const auto& a : s.matrix) axes.push_back(a.pointer);
    list.push_back({{"name", s.name}, {"file", s.file}, {"description", s.description},
                    {"matrix_axes", axes}, {"cells", sr.cells}});
  }
  out["scenarios"] = list;
  out["summary"] = summarize(out);
  return out;
}

bool all_expectations_passed(const json& results) {
  const json& s = results["summary"];
  return s.value("expectations_failed", 0) == 0 && s.value("errors", 0) == 0;
}

}  // namespace sockchaos::harness
