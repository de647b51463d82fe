// `sockchaos audit`: a user's program against every failure mode, one row per mode.
#include <cmath>
#include <sstream>

#include "common/duration.hpp"
#include "harness/advise/advise.hpp"

namespace sockchaos::harness {

namespace {

std::string audit_ms_text(double ms) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  if (ms >= 1000) {
    o.precision(2);
    o << ms / 1000.0 << " s";
  } else {
    o.precision(1);
    o << ms << " ms";
  }
  return o.str();
}

std::string suggestion_for(const std::string& mode, double within_ms, const KernelEnvironment& env,
                           const LinkChoice& link) {
  AdviseRequest r;
  r.within_ms = within_ms;
  r.modes = {mode};
  r.link = link;
  const Advice a = advise(r, env);
  std::string s = a.options.socket_json().dump();
  if (!a.achievable) {
    for (const auto& p : a.plan)
      if (!p.meets) return "not reachable within " + audit_ms_text(within_ms) + " by socket options: " + p.reason;
  }
  std::string extra;
  if (mode == "syn-sent") extra = " (or a connect timeout in the program)";
  return "set " + s + extra + " -- sockchaos advise --within " +
         format_duration(Nanos(static_cast<int64_t>(within_ms * 1e6))) + " --modes " + mode;
}

}  // namespace

std::vector<AuditRow> audit_rows(const std::vector<std::string>& modes, const Results& results, double within_ms,
                                 const KernelEnvironment& env, const LinkChoice& link) {
  std::vector<AuditRow> rows;
  for (const auto& mode : modes) {
    AuditRow row;
    row.mode = mode;
    row.description = mode_description(mode);
    const ScenarioResult* sr = nullptr;
    for (const auto& s : results.scenarios)
      if (s.name == "audit-" + mode) sr = &s;
    if (!sr || sr->cells.empty() || sr->cells[0].runs.empty()) {
      row.skipped = "not run";
      rows.push_back(row);
      continue;
    }
    const RunResult& run = sr->cells[0].runs[0];
    if (run.outcome == Outcome::error || run.outcome == Outcome::skipped) {
      row.skipped = run.error_detail.value_or("the run errored");
      rows.push_back(row);
      continue;
    }
    row.ran = true;
    row.detection_ms = run.detection_ms;
    row.noticed = run.detection_ms.has_value();
    row.within = row.noticed && *run.detection_ms <= within_ms;
    if (run.command && run.command->client) {
      const auto& c = *run.command->client;
      row.status = row.noticed ? "exit " + std::to_string(c.exit) : "still running at the deadline (killed)";
      if (row.noticed && !c.stderr_text.empty()) {
        std::string first = c.stderr_text.substr(0, c.stderr_text.find('\n'));
        if (first.size() > 48) first = first.substr(0, 45) + "...";
        row.status += ": " + first;
      }
    } else {
      row.status = run.error.value_or(row.noticed ? "noticed" : "not noticed");
    }
    std::string ev;
    if (run.mechanism) ev = std::string(name_string(*run.mechanism));
    if (run.mechanism_basis) ev += (ev.empty() ? "" : ": ") + *run.mechanism_basis;
    if (run.workload_flow) {
      const auto& f = *run.workload_flow;
      std::ostringstream k;
      k << "client sent " << f.sent.retransmissions << " retransmissions, " << f.sent.keep_alives << " keepalives, "
        << f.sent.syn_retransmissions << " SYN retransmissions; received " << f.received.rsts << " RST";
      ev += (ev.empty() ? "" : "; ") + k.str();
    }
    row.evidence = ev.empty() ? "-" : ev;
    if (!row.within && mode != "port-exhaustion" && mode != "zero-window")
      row.suggestion = suggestion_for(mode, within_ms, env, link);
    else if (!row.within && mode == "zero-window")
      row.suggestion = "TCP_USER_TIMEOUT ends a connection whose peer stopped reading: " +
                       suggestion_for(mode, within_ms, env, link);
    rows.push_back(row);
  }
  return rows;
}

std::string audit_text(const std::vector<AuditRow>& rows, double within_ms) {
  std::ostringstream o;
  o << "sockchaos audit: how long the program takes to notice each failure (bound " << audit_ms_text(within_ms) << ")\n\n";
  auto pad = [](const std::string& s, size_t n) { return s.size() >= n ? s + " " : s + std::string(n - s.size(), ' '); };
  o << pad("mode", 16) << pad("noticed after", 15) << pad("status", 58) << "kernel evidence\n";
  for (const auto& r : rows) {
    if (!r.ran) {
      o << pad(r.mode, 16) << pad("-", 15) << pad("not run", 58) << r.skipped << "\n";
      continue;
    }
    o << pad(r.mode, 16) << pad(r.noticed ? audit_ms_text(*r.detection_ms) : "never", 15) << pad(r.status, 58) << r.evidence
      << "\n";
  }
  bool any = false;
  for (const auto& r : rows)
    if (!r.suggestion.empty()) {
      if (!any) o << "\nmissed (not noticed within the bound), and what would notice:\n";
      any = true;
      o << "  " << r.mode << ": " << r.suggestion << "\n";
    }
  return o.str();
}

json audit_json(const std::vector<AuditRow>& rows, double within_ms) {
  json out = {{"within_ms", within_ms}, {"modes", json::array()}};
  for (const auto& r : rows) {
    json m = {{"mode", r.mode}, {"description", r.description}, {"ran", r.ran}};
    if (!r.ran) m["skipped"] = r.skipped;
    m["detection_ms"] = r.detection_ms ? json(std::round(*r.detection_ms * 10) / 10) : json(nullptr);
    m["noticed"] = r.noticed;
    m["within"] = r.within;
    m["status"] = r.status;
    m["evidence"] = r.evidence;
    if (!r.suggestion.empty()) m["suggestion"] = r.suggestion;
    out["modes"].push_back(m);
  }
  return out;
}

}  // namespace sockchaos::harness
