#include "harness/metrics/metrics.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>

#include "common/clock.hpp"
#include "harness/metrics/evidence.hpp"
#include "harness/metrics/mechanism.hpp"
#include "harness/metrics/stats.hpp"

namespace sockchaos::harness {

const StateCounts* CensusSample::find(const std::string& host) const {
  for (const auto& [h, counts] : hosts)
    if (h == host) return &counts;
  return nullptr;
}

namespace {

double round_to(double v, double step) { return std::round(v / step) * step; }
std::optional<double> finite_or_none(double v, double step) {
  if (std::isnan(v)) return std::nullopt;
  return round_to(v, step);
}

// The failing call the detection time ends at, or none.
FailureCall failing_call(const RunRecord& r) {
  if (r.client_error.present()) return r.client_error;
  auto after_fault = [&](int64_t t) { return r.first_fault < 0 || r.after_fault(t); };
  for (const auto& p : r.probes)
    if (!p.error.empty() && after_fault(p.t_end)) return {p.t_end, p.value < 0 ? "connect" : "recv", p.error, std::nullopt};
  for (const auto& q : r.requests)
    if (!q.error.empty() && after_fault(q.t)) return {q.t, "request", q.error, std::nullopt};
  return {};
}

HostSockets host_sockets(const RunRecord& r, const std::string& host) {
  HostSockets out;
  std::array<int64_t, kTcpStateCount> peak{};
  for (const auto& smp : r.samples) {
    const StateCounts* c = smp.find(host);
    if (!c) continue;
    ++out.census.samples;
    for (int i = 1; i < kTcpStateCount; ++i) peak[i] = std::max(peak[i], c->by_state[i]);
  }
  for (const auto& f : r.census_failures)
    if (f.host == host) {
      if (out.census.errors++ == 0) out.census.first_error = f.message;
    }
  for (int i = 1; i < kTcpStateCount; ++i)
    if (peak[i] > 0) out.peak.emplace_back(tcp_state_name(i), peak[i]);
  // When each state that was ever present first returned to 0 after its peak, in ms after the
  // workload ended (for a probe loop: its last close), null if it never did during the
  // observation. Resolution: the census interval around the transition.
  for (int i = 1; i < kTcpStateCount; ++i) {
    if (peak[i] == 0) continue;
    size_t at_peak = r.samples.size();
    for (size_t k = 0; k < r.samples.size() && at_peak == r.samples.size(); ++k) {
      const StateCounts* c = r.samples[k].find(host);
      if (c && c->by_state[i] == peak[i]) at_peak = k;
    }
    std::optional<double> when;
    for (size_t k = at_peak + 1; k < r.samples.size() && r.workload_end >= 0; ++k) {
      const StateCounts* c = r.samples[k].find(host);
      if (c && c->by_state[i] == 0) {
        when = to_ms(r.samples[k].t - r.workload_end);
        break;
      }
    }
    out.cleared_ms.emplace_back(tcp_state_name(i), when);
    if (i == tcp_state_from_name("TIME_WAIT")) out.time_wait_cleared_ms = when;
  }
  return out;
}

ProbeStats probe_stats(const RunRecord& r, const std::string& client_host, const std::function<double(int64_t)>& rel) {
  ProbeStats out;
  std::vector<double> latencies;
  for (const auto& p : r.probes) {
    ++out.attempted;
    if (p.error.empty()) {
      ++out.succeeded;
      if (p.value >= 0) latencies.push_back(static_cast<double>(p.value) / 1e6);
    } else {
      auto it = std::find_if(out.failed.begin(), out.failed.end(), [&](const auto& kv) { return kv.first == p.error; });
      if (it == out.failed.end()) out.failed.emplace_back(p.error, 1);
      else ++it->second;
    }
  }
  std::sort(latencies.begin(), latencies.end());
  if (out.attempted > 1) {
    out.has_rate = true;
    const double span = static_cast<double>(r.probes.back().t - r.probes.front().t) / 1e9;
    if (span > 0) out.per_second = round_to(static_cast<double>(out.attempted - 1) / span, 0.1);
  }
  if (!latencies.empty())
    out.connect_ms = ConnectLatency{round_to(percentile_sorted(latencies, 50), 0.001),
                                    round_to(percentile_sorted(latencies, 99), 0.001), round_to(latencies.back(), 0.001)};
  if (!r.probes.empty()) {
    // Per census window: probes attempted/failed and connect latency against TIME_WAIT.
    std::vector<ProbeWindow> series;
    size_t pi = 0;
    for (size_t si = 1; si < r.samples.size(); ++si) {
      std::vector<double> window;
      int64_t attempted = 0, failed = 0;
      while (pi < r.probes.size() && r.probes[pi].t < r.samples[si].t) {
        ++attempted;
        if (!r.probes[pi].error.empty()) ++failed;
        else if (r.probes[pi].value >= 0) window.push_back(static_cast<double>(r.probes[pi].value) / 1e6);
        ++pi;
      }
      if (attempted == 0) continue;
      std::sort(window.begin(), window.end());
      ProbeWindow w;
      w.t_ms = rel(r.samples[si].t);
      w.attempted = attempted;
      w.failed = failed;
      w.connect_p50_ms = finite_or_none(percentile_sorted(window, 50), 0.001);
      w.connect_p99_ms = finite_or_none(percentile_sorted(window, 99), 0.001);
      const StateCounts* c = r.samples[si].find(client_host);
      w.time_wait = c ? c->get("TIME_WAIT") : 0;
      series.push_back(w);
    }
    out.series = std::move(series);
  }
  return out;
}

std::vector<RequestPhase> request_phases(const RunRecord& r, const std::function<double(int64_t)>& rel) {
  // Before / during / after the first fault window.
  const int64_t fault_start = r.first_fault;
  int64_t fault_end = -1;
  for (const auto& f : r.faults)
    if (f.installed == r.first_fault) fault_end = f.healed;
  struct Window {
    std::string name;
    int64_t a, b;
  };
  std::vector<Window> windows;
  const int64_t first = r.requests.front().t, last = r.requests.back().t + 1;
  if (fault_start < 0) {
    windows.push_back({"all", first, last});
  } else {
    windows.push_back({"before", first, fault_start});
    windows.push_back({"during", fault_start, fault_end >= 0 ? fault_end : last});
    if (fault_end >= 0) windows.push_back({"after", fault_end, last});
  }
  std::vector<RequestPhase> out;
  for (const auto& w : windows) {
    std::vector<double> latencies;
    int64_t errors = 0;
    for (const auto& q : r.requests) {
      if (q.t < w.a || q.t >= w.b) continue;
      if (q.error.empty()) latencies.push_back(static_cast<double>(q.value) / 1e6);
      else ++errors;
    }
    std::sort(latencies.begin(), latencies.end());
    const double seconds = std::max(1e-9, static_cast<double>(w.b - w.a) / 1e9);
    double mean = NAN;
    if (!latencies.empty()) {
      mean = 0;
      for (double v : latencies) mean += v;
      mean /= static_cast<double>(latencies.size());
    }
    RequestPhase p;
    p.phase = w.name;
    p.start_ms = rel(w.a);
    p.end_ms = rel(w.b);
    p.requests = static_cast<int64_t>(latencies.size());
    p.errors = errors;
    p.tps = round_to(static_cast<double>(latencies.size()) / seconds, 0.1);
    p.p50_ms = finite_or_none(percentile_sorted(latencies, 50), 0.01);
    p.p90_ms = finite_or_none(percentile_sorted(latencies, 90), 0.01);
    p.p99_ms = finite_or_none(percentile_sorted(latencies, 99), 0.01);
    if (!latencies.empty()) p.max_ms = round_to(latencies.back(), 0.01);
    p.mean_ms = finite_or_none(mean, 0.01);
    out.push_back(std::move(p));
  }
  return out;
}

// Non-zero TCP counters per host (the interesting ones are rare events: overflows, aborts).
Ordered<Ordered<int64_t>> tcp_counters(const RunRecord& r) {
  Ordered<Ordered<int64_t>> out;
  for (const auto& host : r.hosts) {
    auto it = r.counters.find(host);
    if (it == r.counters.end()) continue;
    Ordered<int64_t> h;
    for (const auto& [name, value] : it->second)
      if (value != 0 && name.rfind("TcpExt.", 0) == 0) h.emplace_back(name, value);
    for (const char* k :
         {"Tcp.ActiveOpens", "Tcp.PassiveOpens", "Tcp.AttemptFails", "Tcp.EstabResets", "Tcp.RetransSegs", "Tcp.OutRsts"}) {
      auto v = it->second.find(k);
      if (v != it->second.end() && v->second != 0) h.emplace_back(k, v->second);
    }
    out.emplace_back(host, std::move(h));
  }
  return out;
}

std::vector<TimelineEntry> timeline(const RunRecord& r, const std::vector<RecordedEvent>& packet_events,
                                    const std::vector<PacketMark>& marks, const std::function<double(int64_t)>& rel) {
  std::vector<std::pair<int64_t, TimelineEntry>> entries;
  for (size_t i = 0; i < packet_events.size(); ++i) {
    TimelineEntry e;
    e.t_ms = rel(packet_events[i].t);
    e.event = packet_events[i].event;
    e.detail = packet_events[i].detail;
    e.packet = marks[i];
    entries.emplace_back(packet_events[i].t, std::move(e));
  }
  for (const auto& smp : r.samples) {
    TimelineEntry e;
    e.t_ms = rel(smp.t);
    Ordered<Ordered<int64_t>> hosts;
    for (const auto& [host, counts] : smp.hosts) {
      Ordered<int64_t> states;
      for (int i = 1; i < kTcpStateCount; ++i)
        if (counts.by_state[i] > 0) states.emplace_back(tcp_state_name(i), counts.by_state[i]);
      hosts.emplace_back(host, std::move(states));
    }
    e.sockets = std::move(hosts);
    entries.emplace_back(smp.t, std::move(e));
  }
  for (const auto& ev : r.events) {
    TimelineEntry e;
    e.t_ms = rel(ev.t);
    e.event = ev.event;
    e.detail = ev.detail;
    entries.emplace_back(ev.t, std::move(e));
  }
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<TimelineEntry> out;
  out.reserve(entries.size());
  for (auto& [t, e] : entries) out.push_back(std::move(e));
  return out;
}

// The workload sockets' tcp_info, kept where something the kernel's timers act on changed
// (and at a socket's first and last sample), at most kMaxTcpInfoSamples.
constexpr size_t kMaxTcpInfoSamples = 500;

bool timers_changed(const TcpInfo& a, const TcpInfo& b, int state_a, int state_b) {
  return state_a != state_b || a.retransmits != b.retransmits || a.backoff != b.backoff || a.probes != b.probes ||
         a.rto_ms != b.rto_ms || a.unacked != b.unacked || a.total_retrans != b.total_retrans ||
         a.ca_state != b.ca_state || a.snd_wnd != b.snd_wnd;
}

std::vector<TcpInfoSample> tcp_info_samples(const RunRecord& r, const std::function<double(int64_t)>& rel) {
  struct Last {
    std::string key;
    size_t index;  // in out
    int state;
    TcpInfo info;
    bool kept;
  };
  std::vector<TcpInfoSample> out;
  std::vector<Last> last;
  for (const auto& smp : r.samples)
    for (const auto& [host, sock] : smp.sockets) {
      if (!sock.info) continue;
      const std::string key = host + " " + sock.local + " " + sock.remote;
      auto it = std::find_if(last.begin(), last.end(), [&](const Last& l) { return l.key == key; });
      TcpInfoSample sample{rel(smp.t), host, sock.local, sock.remote, tcp_state_name(sock.state) ? tcp_state_name(sock.state) : "?", *sock.info};
      if (it == last.end()) {
        out.push_back(std::move(sample));
        last.push_back({key, out.size() - 1, sock.state, *sock.info, true});
        continue;
      }
      if (timers_changed(it->info, *sock.info, it->state, sock.state)) {
        out.push_back(std::move(sample));
        *it = {key, out.size() - 1, sock.state, *sock.info, true};
      } else {
        // Unchanged: remember it as the socket's latest, replacing an earlier unchanged one.
        if (!it->kept) out[it->index] = std::move(sample);
        else {
          out.push_back(std::move(sample));
          it->index = out.size() - 1;
        }
        it->kept = false;
        it->info = *sock.info;
      }
      if (out.size() >= kMaxTcpInfoSamples) return out;
    }
  return out;
}

// Model times at the results' resolution (0.1 ms).
Model rounded(Model m) {
  auto r = [](double v) { return std::round(v * 10) / 10; };
  if (m.ms) m.ms = r(*m.ms);
  if (m.would_fire_ms) m.would_fire_ms = r(*m.would_fire_ms);
  m.lo_ms = r(m.lo_ms);
  m.hi_ms = r(m.hi_ms);
  for (auto& [name, in] : m.inputs) in.value = std::round(in.value * 1000) / 1000;
  return m;
}

constexpr size_t kMaxPacketMarks = 2000;
constexpr uint32_t kFlowsShownInFull = 20;

// Handshakes, FINs and RSTs of every flow would drown a probe loop's timeline: after the first
// kFlowsShownInFull flows only the unusual packets (retransmissions, probes, windows) are marked.
bool routine(PacketEventKind k) {
  return k == PacketEventKind::syn || k == PacketEventKind::syn_ack || k == PacketEventKind::fin ||
         k == PacketEventKind::rst || k == PacketEventKind::duplicate_ack || k == PacketEventKind::window_update;
}

// The client's packets to and from the server port, as timeline events (at most kMaxPacketMarks:
// the first and the last half).
std::vector<RecordedEvent> packet_marks(const RunEvidence& ev, const Scenario& s, std::vector<PacketMark>& marks) {
  std::vector<RecordedEvent> out;
  for (const auto& [host, analysis] : ev.hosts) {
    if (host != s.client.on) continue;
    std::vector<bool> workload(analysis.flows.size() + 1, false);
    for (const auto& f : analysis.flows) {
      const auto colon = f.remote.rfind(':');
      if (f.flow < workload.size() && colon != std::string::npos && f.remote.substr(colon + 1) == std::to_string(s.client.connect_port))
        workload[f.flow] = true;
    }
    for (const auto& e : analysis.events) {
      if (e.flow >= workload.size() || !workload[e.flow]) continue;
      if (e.flow > kFlowsShownInFull && routine(e.kind)) continue;
      PacketMark m{host, to_string(e.kind), to_string(e.direction), e.flow, e.seq, e.ack, e.len, e.window, e.ordinal, std::nullopt};
      if (e.gap_ns >= 0) m.gap_ms = to_ms(e.gap_ns);
      std::string detail = m.direction + " " + m.kind;
      if (e.ordinal > 0) detail += " #" + std::to_string(e.ordinal);
      if (e.len > 0) detail += " seq " + std::to_string(e.seq) + " len " + std::to_string(e.len);
      if (m.gap_ms) detail += " (+" + std::to_string(static_cast<int64_t>(*m.gap_ms)) + " ms)";
      if (!e.detail.empty()) detail += ": " + e.detail;
      out.push_back({e.mono_ns, "packet", detail});
      marks.push_back(std::move(m));
    }
  }
  if (out.size() > kMaxPacketMarks) {
    const size_t half = kMaxPacketMarks / 2;
    out.erase(out.begin() + static_cast<long>(half), out.end() - static_cast<long>(half));
    marks.erase(marks.begin() + static_cast<long>(half), marks.end() - static_cast<long>(half));
  }
  return out;
}

FlowCounts flow_counts(const DirectionCounts& d) {
  return {d.packets,         d.retransmissions,     d.tail_loss_probes,      d.syn_retransmissions,
          d.keep_alives,     d.keep_alive_acks,     d.zero_window_probes,    d.zero_window_probe_acks,
          d.zero_windows,    d.rsts,                d.fins};
}

ServerSide server_side(const RunRecord& r, const std::function<double(int64_t)>& rel) {
  ServerSide out;
  for (const auto& ev : r.server_errors) {
    out.errors.push_back({rel(ev.t), ev.syscall, ev.error});
    if (!out.error && r.after_fault(ev.t)) {
      out.detection_ms = to_ms(ev.t - r.fault_origin(ev.t));
      out.error = ev.error;
      out.syscall = ev.syscall;
    }
  }
  for (const auto& [t, count] : r.accepts) {
    out.accepted += count;
    if (!out.first_accept_ms) out.first_accept_ms = rel(t);
    out.last_accept_ms = rel(t);
  }
  return out;
}

}  // namespace

RunResult measure_run(const RunRecord& r, const Scenario& s) {
  RunResult run;
  const int64_t base = r.base >= 0 ? r.base : r.t_start;
  const std::function<double(int64_t)> rel = [base](int64_t t) { return to_ms(t - base); };

  const FailureCall err = failing_call(r);
  if (r.failure) {
    run.outcome = Outcome::error;
    run.error_detail = *r.failure;
  } else if (err.present()) {
    run.outcome = Outcome::detected;
  } else {
    run.outcome = Outcome::undetected;
  }
  if (!r.failure && err.present()) {
    const bool after_fault = r.after_fault(err.t);
    run.detection_ms = to_ms(err.t - (after_fault ? r.fault_origin(err.t) : base));
    run.detection_origin = after_fault ? DetectionOrigin::fault : DetectionOrigin::start;
    run.before_fault = !after_fault;
    run.error = err.error;
    run.syscall = err.syscall;
    run.mechanism = infer_mechanism(err.error, err.syscall, s);
  }
  if (r.first_fault >= 0) run.fault_ms = rel(r.first_fault);
  if (r.workload_end >= 0) run.workload_end_ms = rel(r.workload_end);
  run.deadline_ms = to_ms(s.deadline.count());
  const int64_t t_end = !r.samples.empty() ? r.samples.back().t : (r.t_end >= 0 ? r.t_end : r.t_start);
  run.duration_ms = r.t_start >= 0 && t_end >= r.t_start ? to_ms(t_end - r.t_start) : 0;

  for (const auto& host : r.hosts) run.sockets.emplace_back(host, host_sockets(r, host));
  run.probes = probe_stats(r, s.client.on, rel);
  if (!r.requests.empty()) run.requests = request_phases(r, rel);
  if (r.client_command || r.server_command) {
    CommandResults cmd;
    if (r.client_command)
      cmd.client = ClientCommandResult{r.client_command->argv, r.client_command->exit_code, r.client_command->out,
                                       r.client_command->err};
    if (r.server_command)
      cmd.server = ServerCommandResult{r.server_command->out, r.server_command->err, r.server_command->argv};
    run.command = std::move(cmd);
  }
  run.server = server_side(r, rel);
  run.tcp_info = tcp_info_samples(r, rel);
  if (!r.failure && err.present()) run.tcp_info_at_error = err.tcp_info;
  run.tcp_counters = tcp_counters(r);
  for (const auto& f : r.faults) {
    FaultResult fr{f.label, std::nullopt, std::nullopt};
    if (f.installed >= 0) fr.installed_ms = rel(f.installed);
    if (f.healed >= 0) fr.healed_ms = rel(f.healed);
    run.faults.push_back(std::move(fr));
  }
  // Evidence: the packets, tcp_info and counters; the kernel's model beside the measurement.
  const RunEvidence ev = gather_evidence(r, s, err.present() && !r.failure ? err.t : -1);
  const CellModel model = predict_cell(s, ev.environment, ev.measured);
  if (!r.failure) {
    ModelResult detection{rounded(model.detection), check(model.detection, run.detection_ms), run.detection_ms};
    if (detection.check.delta_ms) detection.check.delta_ms = round_to(*detection.check.delta_ms, 0.1);
    run.model = std::move(detection);
    for (const auto& lifetime : model.lifetimes) {
      std::optional<double> measured;
      if (lifetime.quantity == "probe_failures") {
        measured = static_cast<double>(run.probes.failures());
      } else if (const HostSockets* h = run.host_sockets(lifetime.host)) {
        if (const auto* cleared = find_in(h->cleared_ms, lifetime.quantity)) measured = *cleared;
      }
      ModelResult m{rounded(lifetime), check(lifetime, measured), measured};
      if (m.check.delta_ms) m.check.delta_ms = round_to(*m.check.delta_ms, 0.1);
      run.lifetime_models.push_back(std::move(m));
    }
  }
  if (!r.failure && err.present()) {
    // The evidence is read against the socket's configuration even where the model has no
    // formula (no fault, a lossy link): a user timeout and KEEPCNT decide which timer it was.
    Model configured = model.detection;
    const int64_t ut_ns = client_user_timeout_ns(s);
    if (ut_ns > 0 && !configured.inputs.count("tcp_user_timeout"))
      configured.inputs["tcp_user_timeout"] = {static_cast<double>(ut_ns) / 1e6, "ms", "socket", "TCP_USER_TIMEOUT"};
    const auto& ka = s.client.socket.keepalive;
    if (ka && ka->enabled && !configured.inputs.count("keepalive_count"))
      configured.inputs["keepalive_count"] = {
          static_cast<double>(ka->count > 0 ? ka->count : client_sysctl_or(s, "net.ipv4.tcp_keepalive_probes", 9)),
          "count", ka->count > 0 ? "socket" : "sysctl", ka->count > 0 ? "TCP_KEEPCNT" : "net.ipv4.tcp_keepalive_probes"};
    const MechanismEvidence me = mechanism_from_evidence(err.error, err.syscall, run.detection_ms, configured, ev.observed);
    if (auto m = parse_name<Mechanism>(me.mechanism)) run.mechanism = *m;
    run.mechanism_basis = me.basis;
    run.mechanism_from_evidence = me.evidence_available;
  } else if (!r.failure && run.outcome == Outcome::undetected) {
    run.mechanism_basis = undetected_basis(model.detection, ev.observed, run.deadline_ms);
  }
  for (const auto& l : r.links) run.links.push_back({l.a, l.b, l.backend, l.seed, l.a_to_b, l.b_to_a, l.stats});
  run.capture.enabled = r.capture_enabled;
  run.capture.error = r.capture_error;
  for (size_t i = 0; i < r.captures.size(); ++i) {
    const HostPackets& hp = r.captures[i];
    HostCaptureResult h{hp.file, hp.seen, hp.kept, hp.dropped_by_cap, hp.dropped_by_kernel, hp.truncated, 0, 0, hp.error};
    for (const auto& [host, analysis] : ev.hosts)
      if (host == hp.host) h.flows = static_cast<int64_t>(analysis.flows.size());
    for (const auto& [host, n] : ev.dropped_at_ingress)
      if (host == hp.host) h.dropped_at_ingress = n;
    run.capture.hosts.emplace_back(hp.host, std::move(h));
  }
  if (ev.workload_flow) {
    const auto& [index, flow] = *ev.workload_flow;
    for (const auto& f : ev.hosts[index].second.flows)
      if (f.flow == flow) run.workload_flow = WorkloadFlow{ev.hosts[index].first, f.local, f.remote, flow_counts(f.sent), flow_counts(f.received)};
  }
  std::vector<PacketMark> marks;
  const std::vector<RecordedEvent> packet_events = packet_marks(ev, s, marks);
  run.timeline = timeline(r, packet_events, marks, rel);
  return run;
}

RunResult error_run(const std::string& detail) {
  RunResult run;
  run.outcome = Outcome::error;
  run.error_detail = detail;
  return run;
}

}  // namespace sockchaos::harness
