#include "harness/verdict/expectations.hpp"

#include <cmath>
#include <functional>
#include <iomanip>
#include <limits>
#include <sstream>

#include "harness/model/load.hpp"

namespace sockchaos::harness {
namespace {

struct RunVerdict {
  bool ok = false;
  double badness = 0;  // higher is worse; picks the run the detail reports
  std::string detail;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string format_ms(double ms) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << ms << " ms";
  return out.str();
}

double to_ms(Nanos d) { return static_cast<double>(d.count()) / 1e6; }

// Why a run cannot be judged at all (outcome error/skipped), or "" when it can.
std::string unusable_run(const RunResult& run) {
  if (run.outcome == Outcome::detected || run.outcome == Outcome::undetected) return "";
  const std::string why = run.error_detail.value_or("");
  if (run.outcome == Outcome::skipped) return "skipped" + (why.empty() ? "" : ": " + why);
  return why.empty() ? "run error" : why;
}

ExpectationResult judge(const std::vector<RunResult>& runs, std::string check, std::string pointer,
                        const std::function<RunVerdict(const RunResult&)>& verdict) {
  ExpectationResult result{std::move(check), false, "", std::move(pointer)};
  if (runs.empty()) {
    result.detail = "no runs";
    return result;
  }
  const size_t n = runs.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string why = unusable_run(runs[i]);
    if (!why.empty()) {
      result.detail = (n > 1 ? "run " + std::to_string(i + 1) + ": " : std::string()) + why;
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

// The host's census as a check sees it: nullptr with `why` set when it has no data.
const HostSockets* census_of(const RunResult& run, const std::string& host, std::string& why) {
  const HostSockets* h = run.host_sockets(host);
  if (!h || h->census.samples == 0) {
    why = "no data: no socket census of " + host +
          (h && !h->census.first_error.empty() ? " succeeded (" + h->census.first_error + ")" : "");
    return nullptr;
  }
  return h;
}

// An upper bound on a peak cannot hold when census passes were lost: one may have held the peak.
std::string incomplete_census(const HostSockets& h, const std::string& host) {
  if (h.census.errors == 0) return "";
  return "census of " + host + " failed " + std::to_string(h.census.errors) + " time(s) (" + h.census.first_error +
         "); the peak may be higher";
}

RunVerdict peak_at_most(const RunResult& run, const std::string& host, const std::string& state, int64_t limit) {
  std::string why;
  const HostSockets* h = census_of(run, host, why);
  if (!h) return {false, kInf, why};
  const int64_t peak = h->peak_of(state);
  std::string text = state + " peak " + std::to_string(peak) + " on " + host;
  if (std::string gap = incomplete_census(*h, host); !gap.empty()) return {false, kInf, text + "; " + gap};
  return {peak <= limit, static_cast<double>(peak), text};
}

RunVerdict peak_at_least(const RunResult& run, const std::string& host, const std::string& state, int64_t limit) {
  std::string why;
  const HostSockets* h = census_of(run, host, why);
  if (!h) return {false, kInf, why};
  const int64_t peak = h->peak_of(state);
  return {peak >= limit, -static_cast<double>(peak), state + " peak " + std::to_string(peak) + " on " + host};
}

// A detection time an expectation about the fault can use, or why not.
std::optional<double> fault_detection(const RunResult& run, bool cell_has_faults, std::string& why) {
  if (!run.detection_ms) {
    why = "detected, but no detection time was recorded";
    return std::nullopt;
  }
  if (cell_has_faults && run.detection_origin != DetectionOrigin::fault) {
    why = "the client failed " + format_ms(*run.detection_ms) + " after the workload started, before the first fault (" +
          run.error.value_or("?") + "): nothing measured the fault";
    return std::nullopt;
  }
  return run.detection_ms;
}

}  // namespace

std::vector<ExpectationResult> evaluate_expectations(const Cell& cell, const std::vector<RunResult>& runs) {
  std::vector<ExpectationResult> out;
  const Scenario& s = cell.scenario;
  const bool has_faults = !s.faults.empty();
  const std::string undetected_text = "undetected after deadline " + format_duration(s.deadline);
  auto detected_text = [](const RunResult& run) {
    return "detected after " + (run.detection_ms ? format_ms(*run.detection_ms) : std::string("an unknown time")) +
           (run.error ? " (" + *run.error + ")" : "");
  };
  for (const auto& e : s.expect) {
    if (!expectation_applies(e, cell)) continue;
    const std::string& p = e.pointer;
    if (e.detected_within) {
      const double limit = to_ms(*e.detected_within);
      out.push_back(judge(runs, "detected_within " + format_duration(*e.detected_within), p + "/detected_within",
                          [&](const RunResult& run) -> RunVerdict {
                            if (run.outcome != Outcome::detected) return {false, kInf, undetected_text};
                            std::string why;
                            auto ms = fault_detection(run, has_faults, why);
                            if (!ms) return {false, kInf, why};
                            return {*ms <= limit, *ms, format_ms(*ms)};
                          }));
    }
    if (e.detected_after) {
      const double limit = to_ms(*e.detected_after);
      out.push_back(judge(runs, "detected_after " + format_duration(*e.detected_after), p + "/detected_after",
                          [&](const RunResult& run) -> RunVerdict {
                            if (run.outcome != Outcome::detected) return {false, kInf, undetected_text};
                            std::string why;
                            auto ms = fault_detection(run, has_faults, why);
                            if (!ms) return {false, kInf, why};
                            return {*ms >= limit, -*ms, format_ms(*ms)};
                          }));
    }
    if (e.undetected) {
      out.push_back(judge(runs, "undetected", p + "/undetected", [&](const RunResult& run) -> RunVerdict {
        if (run.outcome == Outcome::undetected) return {true, 0, undetected_text};
        return {false, run.detection_ms ? -*run.detection_ms : 0, detected_text(run)};
      }));
    }
    if (e.error) {
      out.push_back(judge(runs, "error " + *e.error, p + "/error", [&](const RunResult& run) -> RunVerdict {
        if (run.outcome != Outcome::detected) return {false, 1, "no error: " + undetected_text};
        const std::string got = run.error.value_or("");
        if (got == *e.error) return {true, 0, got};
        return {false, 0, "got " + (got.empty() ? std::string("no error name") : got)};
      }));
    }
    if (e.mechanism) {
      const std::string wanted = name_string(*e.mechanism);
      out.push_back(judge(runs, "mechanism " + wanted, p + "/mechanism", [&](const RunResult& run) -> RunVerdict {
        if (run.outcome != Outcome::detected) return {false, 1, "no mechanism: " + undetected_text};
        if (run.mechanism == e.mechanism) return {true, 0, wanted};
        return {false, 0, "got " + (run.mechanism ? name_string(*run.mechanism) : std::string("no mechanism"))};
      }));
    }
    const std::string host = e.host;
    if (e.time_wait_max) {
      const int64_t limit = *e.time_wait_max;
      out.push_back(judge(runs, "time_wait_max " + std::to_string(limit) + " (" + host + ")", p + "/time_wait_max",
                          [&](const RunResult& run) { return peak_at_most(run, host, "TIME_WAIT", limit); }));
    }
    if (e.time_wait_min) {
      const int64_t limit = *e.time_wait_min;
      out.push_back(judge(runs, "time_wait_min " + std::to_string(limit) + " (" + host + ")", p + "/time_wait_min",
                          [&](const RunResult& run) { return peak_at_least(run, host, "TIME_WAIT", limit); }));
    }
    // states_max / states_min: one check per state, on the state's peak.
    for (bool is_max : {true, false}) {
      for (const auto& [state, limit] : is_max ? e.states_max : e.states_min) {
        const std::string st = state;
        const int64_t lim = limit;
        const std::string key = is_max ? "states_max" : "states_min";
        out.push_back(judge(runs, key + " " + st + " " + std::to_string(lim) + " (" + host + ")", p + "/" + key + "/" + st,
                            [&](const RunResult& run) {
                              return is_max ? peak_at_most(run, host, st, lim) : peak_at_least(run, host, st, lim);
                            }));
      }
    }
    auto cleared_text = [&](const HostSockets& h) -> std::string {
      if (h.peak_of("TIME_WAIT") == 0) return "no TIME_WAIT on " + host;
      return h.time_wait_cleared_ms
                 ? "TIME_WAIT on " + host + " cleared " + format_ms(*h.time_wait_cleared_ms) + " after the workload ended"
                 : "TIME_WAIT on " + host + " not cleared during the observation";
    };
    if (e.time_wait_cleared_after) {
      const double limit = to_ms(*e.time_wait_cleared_after);
      out.push_back(judge(runs, "time_wait_cleared_after " + format_duration(*e.time_wait_cleared_after) + " (" + host + ")",
                          p + "/time_wait_cleared_after", [&](const RunResult& run) -> RunVerdict {
                            std::string why;
                            const HostSockets* h = census_of(run, host, why);
                            if (!h) return {false, kInf, why};
                            if (!h->time_wait_cleared_ms) return {h->peak_of("TIME_WAIT") > 0, 0, cleared_text(*h)};
                            return {*h->time_wait_cleared_ms >= limit, -*h->time_wait_cleared_ms, cleared_text(*h)};
                          }));
    }
    if (e.time_wait_cleared_within) {
      const double limit = to_ms(*e.time_wait_cleared_within);
      out.push_back(judge(runs, "time_wait_cleared_within " + format_duration(*e.time_wait_cleared_within) + " (" + host + ")",
                          p + "/time_wait_cleared_within", [&](const RunResult& run) -> RunVerdict {
                            std::string why;
                            const HostSockets* h = census_of(run, host, why);
                            if (!h) return {false, kInf, why};
                            if (!h->time_wait_cleared_ms) return {false, kInf, cleared_text(*h)};
                            return {*h->time_wait_cleared_ms <= limit, *h->time_wait_cleared_ms, cleared_text(*h)};
                          }));
    }
    // Any state's clearing time (cleared_ms.<STATE>): after = it lasted at least this long, or
    // never cleared while observed (fails when the host never had the state); within = it cleared.
    auto state_cleared = [&](const std::string& state, Nanos d, bool after) {
      const double limit = to_ms(d);
      const std::string key = after ? "cleared_after" : "cleared_within";
      out.push_back(judge(runs, key + " " + state + " " + format_duration(d) + " (" + host + ")",
                          p + "/" + key + "/" + state, [&, state, limit, after](const RunResult& run) -> RunVerdict {
                            std::string why;
                            const HostSockets* h = census_of(run, host, why);
                            if (!h) return {false, kInf, why};
                            const std::optional<double>* c = find_in(h->cleared_ms, state);
                            const bool had = h->peak_of(state) > 0;
                            if (!had) return {false, kInf, "no " + state + " on " + host};
                            if (!c || !c->has_value())
                              return {after, after ? 0 : kInf, state + " on " + host + " did not clear while observed"};
                            const double ms = **c;
                            const std::string text = state + " on " + host + " cleared " + format_ms(ms) +
                                                     " after the workload ended";
                            return after ? RunVerdict{ms >= limit, -ms, text} : RunVerdict{ms <= limit, ms, text};
                          }));
    };
    for (const auto& [state, d] : e.cleared_after) state_cleared(state, d, true);
    for (const auto& [state, d] : e.cleared_within) state_cleared(state, d, false);
    if (e.probe_failures_max) {
      const int64_t limit = *e.probe_failures_max;
      out.push_back(judge(runs, "probe_failures_max " + std::to_string(limit), p + "/probe_failures_max",
                          [&](const RunResult& run) -> RunVerdict {
                            const int64_t failed = run.probes.failures();
                            return {failed <= limit, static_cast<double>(failed), "probe failures " + std::to_string(failed)};
                          }));
    }
    if (e.model_holds) {
      out.push_back(judge(runs, "model_holds", p + "/model_holds", [&](const RunResult& run) -> RunVerdict {
        if (!run.model) return {false, kInf, "no kernel model for this run"};
        const Model& m = run.model->model;
        if (m.mechanism == "unmodelled")
          return {false, kInf, "not modelled" + (m.formula.empty() ? std::string() : ": " + m.formula)};
        const ModelCheck& c = run.model->check;
        const double off = c.delta_ms ? std::abs(*c.delta_ms) : 0;
        return {c.holds, c.holds ? off : kInf / 2 + off, (c.holds ? "model holds: " : "model does not hold: ") + c.why};
      }));
    }
    if (e.probe_failures_min) {
      const int64_t limit = *e.probe_failures_min;
      out.push_back(judge(runs, "probe_failures_min " + std::to_string(limit), p + "/probe_failures_min",
                          [&](const RunResult& run) -> RunVerdict {
                            const int64_t failed = run.probes.failures();
                            return {failed >= limit, -static_cast<double>(failed), "probe failures " + std::to_string(failed)};
                          }));
    }
  }
  return out;
}

}  // namespace sockchaos::harness
