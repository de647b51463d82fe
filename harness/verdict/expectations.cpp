#include "harness/verdict/expectations.hpp"

#include <cmath>
#include <functional>
#include <iomanip>
#include <limits>
#include <sstream>

namespace sockchaos::harness {
namespace {

struct RunVerdict {
  bool ok = false;
  double badness = 0;  // higher is worse; picks the run the detail reports
  std::string detail;
};

std::string format_ms(double ms) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << ms << " ms";
  return out.str();
}

double to_ms(Nanos d) { return static_cast<double>(d.count()) / 1e6; }

std::string string_field(const json& run, const char* key) {
  auto it = run.find(key);
  return it != run.end() && it->is_string() ? it->get<std::string>() : "";
}

// Why a run cannot be judged at all (outcome error/skipped/unknown), or "" when it can.
std::string unusable_run(const json& run) {
  if (!run.is_object()) return "malformed run record";
  std::string outcome = string_field(run, "outcome");
  if (outcome == "detected" || outcome == "undetected") return "";
  std::string why;
  for (const char* key : {"error_detail", "detail", "message", "error"}) {
    why = string_field(run, key);
    if (!why.empty()) break;
  }
  if (outcome == "error") return why.empty() ? "run error" : why;
  if (outcome == "skipped") return "skipped" + (why.empty() ? "" : ": " + why);
  return "no outcome recorded" + (outcome.empty() ? std::string() : " (\"" + outcome + "\")");
}

std::optional<double> detection_ms(const json& run) {
  auto it = run.find("detection_ms");
  if (it == run.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

int64_t peak_of(const json& run, const std::string& host, const std::string& state) {
  auto s = run.find("sockets");
  if (s == run.end() || !s->is_object()) return 0;
  auto h = s->find(host);
  if (h == s->end() || !h->is_object()) return 0;
  auto p = h->find("peak");
  if (p == h->end() || !p->is_object()) return 0;
  auto v = p->find(state);
  return v != p->end() && v->is_number() ? v->get<int64_t>() : 0;
}

// sockets.<host>.time_wait_cleared_ms: a number, or null/absent (never cleared, or no TIME_WAIT).
std::optional<double> time_wait_cleared_ms(const json& run, const std::string& host) {
  auto s = run.find("sockets");
  if (s == run.end() || !s->is_object()) return std::nullopt;
  auto h = s->find(host);
  if (h == s->end() || !h->is_object()) return std::nullopt;
  auto v = h->find("time_wait_cleared_ms");
  if (v == h->end() || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

int64_t probe_failures(const json& run) {
  auto p = run.find("probes");
  if (p == run.end() || !p->is_object()) return 0;
  auto f = p->find("failed");
  if (f == p->end()) return 0;
  if (f->is_number()) return f->get<int64_t>();
  int64_t sum = 0;
  if (f->is_object())
    for (const auto& [errno_name, n] : f->items())
      if (n.is_number()) sum += n.get<int64_t>();
  return sum;
}

ExpectationResult judge(const json& runs, std::string check, std::string pointer,
                        const std::function<RunVerdict(const json&)>& verdict) {
  ExpectationResult result{std::move(check), false, "", std::move(pointer)};
  if (!runs.is_array() || runs.empty()) {
    result.detail = "no runs";
    return result;
  }
  const size_t n = runs.size();
  auto label = [&](size_t i) { return n > 1 ? "run " + std::to_string(i + 1) + ": " : std::string(); };
  for (size_t i = 0; i < n; ++i) {
    std::string why = unusable_run(runs[i]);
    if (!why.empty()) {
      result.detail = label(i) + why;
      return result;
    }
  }
  std::optional<RunVerdict> worst_failed, worst_passed;
  for (const auto& run : runs) {
    RunVerdict v = verdict(run);
    auto& slot = v.ok ? worst_passed : worst_failed;
    if (!slot || v.badness > slot->badness) slot = v;
  }
  result.passed = !worst_failed;
  result.detail = (worst_failed ? worst_failed : worst_passed)->detail;
  if (n > 1) result.detail += " (worst of " + std::to_string(n) + " runs)";
  return result;
}

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

std::vector<ExpectationResult> evaluate_expectations(const Cell& cell, const json& runs) {
  std::vector<ExpectationResult> out;
  const std::string undetected_text = "undetected after deadline " + format_duration(cell.scenario.deadline);
  auto detected_text = [](const json& run) {
    auto ms = detection_ms(run);
    std::string error = string_field(run, "error");
    return "detected after " + (ms ? format_ms(*ms) : std::string("an unknown time")) +
           (error.empty() ? "" : " (" + error + ")");
  };
  for (const auto& e : cell.scenario.expect) {
    if (!expectation_applies(e, cell)) continue;
    const std::string& p = e.pointer;
    if (e.detected_within) {
      double limit = to_ms(*e.detected_within);
      out.push_back(judge(runs, "detected_within " + format_duration(*e.detected_within), p + "/detected_within",
                          [&](const json& run) -> RunVerdict {
                            if (string_field(run, "outcome") != "detected") return {false, kInf, undetected_text};
                            auto ms = detection_ms(run);
                            if (!ms) return {false, kInf, "detected, but no detection time was recorded"};
                            return {*ms <= limit, *ms, format_ms(*ms)};
                          }));
    }
    if (e.detected_after) {
      double limit = to_ms(*e.detected_after);
      out.push_back(judge(runs, "detected_after " + format_duration(*e.detected_after), p + "/detected_after",
                          [&](const json& run) -> RunVerdict {
                            if (string_field(run, "outcome") != "detected") return {false, kInf, undetected_text};
                            auto ms = detection_ms(run);
                            if (!ms) return {false, kInf, "detected, but no detection time was recorded"};
                            return {*ms >= limit, -*ms, format_ms(*ms)};
                          }));
    }
    if (e.undetected) {
      out.push_back(judge(runs, "undetected", p + "/undetected", [&](const json& run) -> RunVerdict {
        if (string_field(run, "outcome") == "undetected") return {true, 0, undetected_text};
        auto ms = detection_ms(run);
        return {false, ms ? -*ms : 0, detected_text(run)};
      }));
    }
    if (e.error) {
      out.push_back(judge(runs, "error " + *e.error, p + "/error", [&](const json& run) -> RunVerdict {
        if (string_field(run, "outcome") != "detected") return {false, 1, "no error: " + undetected_text};
        std::string got = string_field(run, "error");
        if (got == *e.error) return {true, 0, got};
        return {false, 0, "got " + (got.empty() ? std::string("no error name") : got)};
      }));
    }
    if (e.mechanism) {
      out.push_back(judge(runs, "mechanism " + *e.mechanism, p + "/mechanism", [&](const json& run) -> RunVerdict {
        if (string_field(run, "outcome") != "detected") return {false, 1, "no mechanism: " + undetected_text};
        std::string got = string_field(run, "mechanism");
        if (got == *e.mechanism) return {true, 0, got};
        return {false, 0, "got " + (got.empty() ? std::string("no mechanism") : got)};
      }));
    }
    const std::string host = e.host;
    if (e.time_wait_max) {
      int64_t limit = *e.time_wait_max;
      out.push_back(judge(runs, "time_wait_max " + std::to_string(limit) + " (" + host + ")", p + "/time_wait_max",
                          [&](const json& run) -> RunVerdict {
                            int64_t peak = peak_of(run, host, "TIME_WAIT");
                            return {peak <= limit, static_cast<double>(peak),
                                    "TIME_WAIT peak " + std::to_string(peak) + " on " + host};
                          }));
    }
    if (e.time_wait_min) {
      int64_t limit = *e.time_wait_min;
      out.push_back(judge(runs, "time_wait_min " + std::to_string(limit) + " (" + host + ")", p + "/time_wait_min",
                          [&](const json& run) -> RunVerdict {
                            int64_t peak = peak_of(run, host, "TIME_WAIT");
                            return {peak >= limit, -static_cast<double>(peak),
                                    "TIME_WAIT peak " + std::to_string(peak) + " on " + host};
                          }));
    }
    // states_max / states_min: one check per state, on the state's peak.
    for (bool is_max : {true, false}) {
      for (const auto& [state, limit] : is_max ? e.states_max : e.states_min) {
        const std::string st = state;
        const int64_t lim = limit;
        const std::string key = is_max ? "states_max" : "states_min";
        out.push_back(judge(runs, key + " " + st + " " + std::to_string(lim) + " (" + host + ")",
                            p + "/" + key + "/" + st, [&](const json& run) -> RunVerdict {
                              int64_t peak = peak_of(run, host, st);
                              return {is_max ? peak <= lim : peak >= lim,
                                      is_max ? static_cast<double>(peak) : -static_cast<double>(peak),
                                      st + " peak " + std::to_string(peak) + " on " + host};
                            }));
      }
    }
    auto cleared_text = [&](const json& run) -> std::string {
      if (peak_of(run, host, "TIME_WAIT") == 0) return "no TIME_WAIT on " + host;
      auto ms = time_wait_cleared_ms(run, host);
      return ms ? "TIME_WAIT on " + host + " cleared " + format_ms(*ms) + " after the workload ended"
                : "TIME_WAIT on " + host + " not cleared during the observation";
    };
    if (e.time_wait_cleared_after) {
      double limit = to_ms(*e.time_wait_cleared_after);
      out.push_back(judge(runs, "time_wait_cleared_after " + format_duration(*e.time_wait_cleared_after) + " (" + host + ")",
                          p + "/time_wait_cleared_after", [&](const json& run) -> RunVerdict {
                            auto ms = time_wait_cleared_ms(run, host);
                            if (!ms) return {peak_of(run, host, "TIME_WAIT") > 0, 0, cleared_text(run)};
                            return {*ms >= limit, -*ms, cleared_text(run)};
                          }));
    }
    if (e.time_wait_cleared_within) {
      double limit = to_ms(*e.time_wait_cleared_within);
      out.push_back(judge(runs, "time_wait_cleared_within " + format_duration(*e.time_wait_cleared_within) + " (" + host + ")",
                          p + "/time_wait_cleared_within", [&](const json& run) -> RunVerdict {
                            auto ms = time_wait_cleared_ms(run, host);
                            if (!ms) return {false, kInf, cleared_text(run)};
                            return {*ms <= limit, *ms, cleared_text(run)};
                          }));
    }
    if (e.probe_failures_max) {
      int64_t limit = *e.probe_failures_max;
      out.push_back(judge(runs, "probe_failures_max " + std::to_string(limit), p + "/probe_failures_max",
                          [&](const json& run) -> RunVerdict {
                            int64_t failed = probe_failures(run);
                            return {failed <= limit, static_cast<double>(failed),
                                    "probe failures " + std::to_string(failed)};
                          }));
    }
    if (e.probe_failures_min) {
      int64_t limit = *e.probe_failures_min;
      out.push_back(judge(runs, "probe_failures_min " + std::to_string(limit), p + "/probe_failures_min",
                          [&](const json& run) -> RunVerdict {
                            int64_t failed = probe_failures(run);
                            return {failed >= limit, -static_cast<double>(failed),
                                    "probe failures " + std::to_string(failed)};
                          }));
    }
  }
  return out;
}

}  // namespace sockchaos::harness
