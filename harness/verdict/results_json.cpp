#include "harness/verdict/results_json.hpp"

#include <fstream>
#include <sstream>

#include "harness/model/load.hpp"
#include "harness/model/pointer.hpp"

namespace sockchaos::harness {
namespace {

// ---- writing ---------------------------------------------------------------------------------

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

template <class V, class F>
json ordered(const Ordered<V>& map, F&& value) {
  json out = json::object();
  for (const auto& [k, v] : map) out[k] = value(v);
  return out;
}

json counts(const Ordered<int64_t>& map) {
  return ordered(map, [](int64_t v) { return json(v); });
}

json host_sockets_json(const HostSockets& h) {
  json census = {{"samples", h.census.samples}, {"errors", h.census.errors}};
  if (!h.census.first_error.empty()) census["first_error"] = h.census.first_error;
  return {{"peak", counts(h.peak)},
          {"cleared_ms", ordered(h.cleared_ms, [](const std::optional<double>& v) { return opt(v); })},
          {"time_wait_cleared_ms", opt(h.time_wait_cleared_ms)},
          {"census", census}};
}

json probes_json(const ProbeStats& p) {
  json out = {{"attempted", p.attempted}, {"succeeded", p.succeeded}, {"failed", counts(p.failed)}};
  if (p.has_rate) out["per_second"] = opt(p.per_second);
  if (p.connect_ms) out["connect_ms"] = {{"p50", p.connect_ms->p50}, {"p99", p.connect_ms->p99}, {"max", p.connect_ms->max}};
  if (p.series) {
    json series = json::array();
    for (const auto& w : *p.series)
      series.push_back({{"t_ms", w.t_ms},
                        {"attempted", w.attempted},
                        {"failed", w.failed},
                        {"connect_p50_ms", opt(w.connect_p50_ms)},
                        {"connect_p99_ms", opt(w.connect_p99_ms)},
                        {"time_wait", w.time_wait}});
    out["series"] = series;
  }
  return out;
}

json phases_json(const std::vector<RequestPhase>& phases) {
  json out = json::array();
  for (const auto& ph : phases)
    out.push_back({{"phase", ph.phase},       {"start_ms", ph.start_ms},   {"end_ms", ph.end_ms},
                   {"requests", ph.requests}, {"errors", ph.errors},       {"tps", ph.tps},
                   {"p50_ms", opt(ph.p50_ms)}, {"p90_ms", opt(ph.p90_ms)}, {"p99_ms", opt(ph.p99_ms)},
                   {"max_ms", opt(ph.max_ms)}, {"mean_ms", opt(ph.mean_ms)}});
  return {{"phases", out}};
}

json command_json(const CommandResults& c) {
  json out = json::object();
  if (c.client) {
    out["argv"] = c.client->argv;
    out["exit"] = c.client->exit;
    out["stdout"] = c.client->stdout_text;
    out["stderr"] = c.client->stderr_text;
  }
  if (c.server) out["server"] = {{"stdout", c.server->stdout_text}, {"stderr", c.server->stderr_text}, {"argv", c.server->argv}};
  return out;
}

json server_json(const ServerSide& s) {
  json errors = json::array();
  for (const auto& e : s.errors) errors.push_back({{"t_ms", e.t_ms}, {"syscall", e.syscall}, {"error", e.error}});
  return {{"detection_ms", opt(s.detection_ms)}, {"error", opt(s.error)},         {"syscall", opt(s.syscall)},
          {"errors", errors},                   {"accepted", s.accepted},       {"first_accept_ms", opt(s.first_accept_ms)},
          {"last_accept_ms", opt(s.last_accept_ms)}};
}

json packet_json(const PacketMark& m) {
  json out = {{"host", m.host}, {"kind", m.kind}, {"direction", m.direction}, {"flow", m.flow}, {"seq", m.seq},
              {"ack", m.ack},   {"len", m.len},   {"window", m.window}};
  if (m.ordinal > 0) out["ordinal"] = m.ordinal;
  if (m.gap_ms) out["gap_ms"] = *m.gap_ms;
  return out;
}

json timeline_json(const std::vector<TimelineEntry>& timeline) {
  json out = json::array();
  for (const auto& e : timeline) {
    if (e.sockets) {
      out.push_back({{"t_ms", e.t_ms}, {"sockets", ordered(*e.sockets, counts)}});
    } else {
      json entry = {{"t_ms", e.t_ms}, {"event", e.event}, {"detail", e.detail}};
      if (e.packet) entry["packet"] = packet_json(*e.packet);
      out.push_back(std::move(entry));
    }
  }
  return out;
}

json model_json(const ModelResult& r) {
  json out = to_json(r.model);
  out["measured"] = opt(r.measured);
  out["delta_ms"] = opt(r.check.delta_ms);
  out["holds"] = r.check.holds;
  out["why"] = r.check.why;
  return out;
}

json flow_counts_json(const FlowCounts& c) {
  return {{"packets", c.packets},
          {"retransmissions", c.retransmissions},
          {"tail_loss_probes", c.tail_loss_probes},
          {"syn_retransmissions", c.syn_retransmissions},
          {"keep_alives", c.keep_alives},
          {"keep_alive_acks", c.keep_alive_acks},
          {"zero_window_probes", c.zero_window_probes},
          {"zero_window_probe_acks", c.zero_window_probe_acks},
          {"zero_windows", c.zero_windows},
          {"rsts", c.rsts},
          {"fins", c.fins}};
}

json capture_json(const CaptureResult& c) {
  json hosts = json::object();
  for (const auto& [host, h] : c.hosts) {
    json one = {{"file", h.file.empty() ? json(nullptr) : json(h.file)},
                {"seen", h.seen},
                {"kept", h.kept},
                {"dropped_by_cap", h.dropped_by_cap},
                {"dropped_by_kernel", h.dropped_by_kernel},
                {"truncated", h.truncated},
                {"flows", h.flows},
                {"dropped_at_ingress", h.dropped_at_ingress}};
    if (!h.error.empty()) one["error"] = h.error;
    hosts[host] = one;
  }
  json out = {{"enabled", c.enabled}, {"hosts", hosts}};
  if (!c.error.empty()) out["error"] = c.error;
  return out;
}

// ---- reading ---------------------------------------------------------------------------------

// Reads one object of the file; every problem becomes an issue at its pointer.
class Reader {
 public:
  Reader(const json& v, std::string pointer, std::vector<InputIssue>& issues, const std::string& file, const std::string& what)
      : v_(v), p_(std::move(pointer)), issues_(issues), file_(file) {
    if (!v_.is_object()) add(p_, "expected " + what + " (an object); got " + describe_json(v_));
  }
  bool ok() const { return v_.is_object(); }
  std::string at(const std::string& key) const { return p_ + "/" + escape_pointer_token(key); }
  const json* find(const std::string& key) const {
    if (!ok()) return nullptr;
    auto it = v_.find(key);
    return it == v_.end() ? nullptr : &*it;
  }
  void add(const std::string& pointer, std::string message) const {
    issues_.push_back({file_, pointer, 0, std::move(message)});
  }

  std::string str(const std::string& key, bool required = false) const {
    const json* v = find(key);
    if (!v) {
      if (required && ok()) add(p_, "expected a \"" + key + "\" key");
      return "";
    }
    if (!v->is_string()) add(at(key), "expected a string; got " + describe_json(*v));
    return v->is_string() ? v->get<std::string>() : "";
  }
  std::optional<std::string> opt_str(const std::string& key) const {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) {
      add(at(key), "expected a string or null; got " + describe_json(*v));
      return std::nullopt;
    }
    return v->get<std::string>();
  }
  std::optional<double> opt_num(const std::string& key) const {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_number()) {
      add(at(key), "expected a number or null; got " + describe_json(*v));
      return std::nullopt;
    }
    return v->get<double>();
  }
  double num(const std::string& key) const { return opt_num(key).value_or(0); }
  int64_t integer(const std::string& key, bool required = false) const {
    const json* v = find(key);
    if (!v) {
      if (required && ok()) add(p_, "expected a \"" + key + "\" key");
      return 0;
    }
    if (!v->is_number_integer()) {
      add(at(key), "expected a whole number; got " + describe_json(*v));
      return 0;
    }
    return v->get<int64_t>();
  }
  bool boolean(const std::string& key, bool required = false) const {
    const json* v = find(key);
    if (!v) {
      if (required && ok()) add(p_, "expected a \"" + key + "\" key");
      return false;
    }
    if (!v->is_boolean()) {
      add(at(key), "expected true or false; got " + describe_json(*v));
      return false;
    }
    return v->get<bool>();
  }
  template <class E>
  std::optional<E> enumerated(const std::string& key, bool required = false) const {
    const json* v = find(key);
    if (!v || v->is_null()) {
      if (required && ok()) add(p_, "expected a \"" + key + "\" key");
      return std::nullopt;
    }
    std::optional<E> e = v->is_string() ? parse_name<E>(v->get<std::string>()) : std::nullopt;
    if (!e) {
      std::string choices;
      for (const auto& n : names<E>()) choices += (choices.empty() ? "\"" : ", \"") + n + "\"";
      add(at(key), "expected one of " + choices + "; got " + describe_json(*v));
    }
    return e;
  }
  // An array of `key`, each element read by `item(value, pointer)`.
  template <class F>
  void each(const std::string& key, F&& item, bool required = false) const {
    const json* v = find(key);
    if (!v) {
      if (required && ok()) add(p_, "expected a \"" + key + "\" key (a list)");
      return;
    }
    if (!v->is_array()) {
      add(at(key), "expected a list; got " + describe_json(*v));
      return;
    }
    for (size_t i = 0; i < v->size(); ++i) item((*v)[i], at(key) + "/" + std::to_string(i));
  }
  // An object of `key`: each member read by `member(name, value, pointer)`.
  template <class F>
  void members(const std::string& key, F&& member) const {
    const json* v = find(key);
    if (!v || v->is_null()) return;
    if (!v->is_object()) {
      add(at(key), "expected an object; got " + describe_json(*v));
      return;
    }
    for (const auto& [k, value] : v->items()) member(k, value, at(key) + "/" + escape_pointer_token(k));
  }
  Reader child(const std::string& key, const std::string& what) const {
    const json* v = find(key);
    static const json empty = json::object();
    return Reader(v ? *v : empty, at(key), issues_, file_, what);
  }
  bool has(const std::string& key) const { return find(key) != nullptr; }
  std::vector<InputIssue>& issues() const { return issues_; }
  const std::string& file() const { return file_; }

 private:
  const json& v_;
  std::string p_;
  std::vector<InputIssue>& issues_;
  const std::string& file_;
};

Ordered<int64_t> read_counts(const Reader& r, const std::string& key) {
  Ordered<int64_t> out;
  r.members(key, [&](const std::string& k, const json& v, const std::string& p) {
    if (!v.is_number_integer()) r.add(p, "expected a whole number; got " + describe_json(v));
    else out.emplace_back(k, v.get<int64_t>());
  });
  return out;
}

std::optional<double> number_or_null(const Reader& r, const json& v, const std::string& p) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_number()) {
    r.add(p, "expected a number or null; got " + describe_json(v));
    return std::nullopt;
  }
  return v.get<double>();
}

HostSockets read_host_sockets(const Reader& r) {
  HostSockets h;
  h.peak = read_counts(r, "peak");
  r.members("cleared_ms", [&](const std::string& k, const json& v, const std::string& p) {
    h.cleared_ms.emplace_back(k, number_or_null(r, v, p));
  });
  h.time_wait_cleared_ms = r.opt_num("time_wait_cleared_ms");
  if (r.has("census")) {
    Reader c = r.child("census", "the census health");
    h.census.samples = c.integer("samples");
    h.census.errors = c.integer("errors");
    h.census.first_error = c.str("first_error");
  } else {
    h.census.samples = 1;  // results written before census health was recorded: trust the peaks
  }
  return h;
}

ProbeStats read_probes(const Reader& r) {
  ProbeStats p;
  p.attempted = r.integer("attempted");
  p.succeeded = r.integer("succeeded");
  p.failed = read_counts(r, "failed");
  p.has_rate = r.has("per_second");
  p.per_second = r.opt_num("per_second");
  if (r.has("connect_ms")) {
    Reader c = r.child("connect_ms", "connect latency percentiles");
    p.connect_ms = ConnectLatency{c.num("p50"), c.num("p99"), c.num("max")};
  }
  if (r.has("series")) {
    std::vector<ProbeWindow> series;
    r.each("series", [&](const json& v, const std::string& ptr) {
      Reader w(v, ptr, r.issues(), r.file(), "a probe window");
      series.push_back({w.num("t_ms"), w.integer("attempted"), w.integer("failed"), w.opt_num("connect_p50_ms"),
                        w.opt_num("connect_p99_ms"), w.integer("time_wait")});
    });
    p.series = std::move(series);
  }
  return p;
}

ModelResult read_model(const Reader& r) {
  ModelResult out;
  Model& m = out.model;
  m.quantity = r.str("quantity");
  m.host = r.str("host");
  m.ms = r.opt_num("ms");
  m.count = r.opt_num("count");
  m.mechanism = r.str("mechanism");
  m.error = r.str("error");
  m.formula = r.str("formula");
  r.members("inputs", [&](const std::string& name, const json& v, const std::string& p) {
    Reader in(v, p, r.issues(), r.file(), "a model input");
    m.inputs[name] = ModelInput{in.num("value"), in.str("unit"), in.str("origin"), in.str("detail")};
  });
  m.lo_ms = r.num("lo_ms");
  m.hi_ms = r.num("hi_ms");
  m.window = r.str("window");
  m.source = r.str("source");
  m.would_fire_ms = r.opt_num("would_fire_ms");
  m.would_be_mechanism = r.str("would_be_mechanism");
  r.each("notes", [&](const json& v, const std::string& p) {
    if (!v.is_string()) r.add(p, "expected a string; got " + describe_json(v));
    else m.notes.push_back(v.get<std::string>());
  });
  out.measured = r.opt_num("measured");
  out.check.delta_ms = r.opt_num("delta_ms");
  out.check.holds = r.has("holds") && r.boolean("holds");
  out.check.why = r.str("why");
  return out;
}

FlowCounts read_flow_counts(const Reader& r) {
  auto n = [&](const char* key) { return static_cast<uint64_t>(std::max<int64_t>(0, r.integer(key))); };
  return {n("packets"),     n("retransmissions"),    n("tail_loss_probes"),      n("syn_retransmissions"),
          n("keep_alives"), n("keep_alive_acks"),    n("zero_window_probes"),    n("zero_window_probe_acks"),
          n("zero_windows"), n("rsts"),              n("fins")};
}

RunResult read_run(const Reader& r) {
  RunResult run;
  run.outcome = r.enumerated<Outcome>("outcome", true).value_or(Outcome::error);
  run.detection_ms = r.opt_num("detection_ms");
  run.detection_origin = r.enumerated<DetectionOrigin>("detection_origin");
  run.before_fault = r.has("before_fault") && r.boolean("before_fault");
  run.error = r.opt_str("error");
  run.syscall = r.opt_str("syscall");
  run.mechanism = r.enumerated<Mechanism>("mechanism");
  run.error_detail = r.opt_str("error_detail");
  run.mechanism_basis = r.opt_str("mechanism_basis");
  run.mechanism_from_evidence = r.has("mechanism_from_evidence") && r.boolean("mechanism_from_evidence");
  if (const json* m = r.find("model"); m && !m->is_null()) run.model = read_model(r.child("model", "the kernel's model"));
  r.each("lifetime_models", [&](const json& v, const std::string& p) {
    run.lifetime_models.push_back(read_model(Reader(v, p, r.issues(), r.file(), "a lifetime model")));
  });
  if (r.has("capture")) {
    Reader c = r.child("capture", "the capture");
    run.capture.enabled = c.boolean("enabled");
    run.capture.error = c.str("error");
    c.members("hosts", [&](const std::string& host, const json& v, const std::string& p) {
      Reader h(v, p, r.issues(), r.file(), "a host's capture");
      auto u = [&](const char* key) { return static_cast<uint64_t>(std::max<int64_t>(0, h.integer(key))); };
      run.capture.hosts.emplace_back(host, HostCaptureResult{h.opt_str("file").value_or(""), u("seen"), u("kept"),
                                                             u("dropped_by_cap"), u("dropped_by_kernel"),
                                                             h.has("truncated") && h.boolean("truncated"),
                                                             h.integer("flows"), u("dropped_at_ingress"), h.str("error")});
    });
  }
  r.each("links", [&](const json& v, const std::string& p) {
    Reader l(v, p, r.issues(), r.file(), "a link");
    LinkResult link;
    if (const json* between = l.find("between"); between && between->is_array() && between->size() == 2 &&
                                                  (*between)[0].is_string() && (*between)[1].is_string()) {
      link.a = (*between)[0].get<std::string>();
      link.b = (*between)[1].get<std::string>();
    } else {
      r.add(l.at("between"), "expected a pair of host names");
    }
    link.backend = l.str("backend");
    link.seed = static_cast<uint64_t>(std::max<int64_t>(0, l.integer("seed")));
    if (const json* x = l.find("a_to_b")) link.a_to_b = *x;
    if (const json* x = l.find("b_to_a")) link.b_to_a = *x;
    if (const json* x = l.find("stats")) link.stats = *x;
    run.links.push_back(std::move(link));
  });
  if (const json* wf = r.find("workload_flow"); wf && !wf->is_null()) {
    Reader w = r.child("workload_flow", "the workload's connection");
    run.workload_flow = WorkloadFlow{w.str("host"), w.str("local"), w.str("remote"),
                                     read_flow_counts(w.child("sent", "packet counts")),
                                     read_flow_counts(w.child("received", "packet counts"))};
  }
  run.fault_ms = r.opt_num("fault_ms");
  run.workload_end_ms = r.opt_num("workload_end_ms");
  run.deadline_ms = r.num("deadline_ms");
  run.duration_ms = r.num("duration_ms");
  r.members("sockets", [&](const std::string& host, const json& v, const std::string& p) {
    run.sockets.emplace_back(host, read_host_sockets(Reader(v, p, r.issues(), r.file(), "a host's sockets")));
  });
  if (r.has("probes")) run.probes = read_probes(r.child("probes", "probe statistics"));
  if (r.has("requests")) {
    std::vector<RequestPhase> phases;
    r.child("requests", "request statistics").each("phases", [&](const json& v, const std::string& p) {
      Reader ph(v, p, r.issues(), r.file(), "a request phase");
      phases.push_back({ph.str("phase"), ph.num("start_ms"), ph.num("end_ms"), ph.integer("requests"), ph.integer("errors"),
                        ph.num("tps"), ph.opt_num("p50_ms"), ph.opt_num("p90_ms"), ph.opt_num("p99_ms"),
                        ph.opt_num("max_ms"), ph.opt_num("mean_ms")});
    });
    run.requests = std::move(phases);
  }
  if (r.has("command")) {
    Reader c = r.child("command", "the command's outcome");
    CommandResults cmd;
    auto strings = [&](const Reader& from) {
      std::vector<std::string> out;
      from.each("argv", [&](const json& v, const std::string& p) {
        if (!v.is_string()) r.add(p, "expected a string; got " + describe_json(v));
        else out.push_back(v.get<std::string>());
      });
      return out;
    };
    if (c.has("exit")) cmd.client = ClientCommandResult{strings(c), static_cast<int>(c.integer("exit")), c.str("stdout"), c.str("stderr")};
    if (c.has("server")) {
      Reader sv = c.child("server", "the server command's output");
      cmd.server = ServerCommandResult{sv.str("stdout"), sv.str("stderr"), strings(sv)};
    }
    run.command = std::move(cmd);
  }
  if (r.has("server")) {
    Reader sv = r.child("server", "the server's side");
    run.server.detection_ms = sv.opt_num("detection_ms");
    run.server.error = sv.opt_str("error");
    run.server.syscall = sv.opt_str("syscall");
    sv.each("errors", [&](const json& v, const std::string& p) {
      Reader e(v, p, r.issues(), r.file(), "a server failure");
      run.server.errors.push_back({e.num("t_ms"), e.str("syscall"), e.str("error")});
    });
    run.server.accepted = sv.integer("accepted");
    run.server.first_accept_ms = sv.opt_num("first_accept_ms");
    run.server.last_accept_ms = sv.opt_num("last_accept_ms");
  }
  r.each("tcp_info", [&](const json& v, const std::string& p) {
    Reader t(v, p, r.issues(), r.file(), "a tcp_info sample");
    std::string why;
    json numbers = v.is_object() ? v : json::object();
    numbers.erase("state");
    auto info = tcp_info_from_json(numbers, &why);
    if (!info) {
      r.add(p, why);
      return;
    }
    run.tcp_info.push_back({t.num("t_ms"), t.str("host"), t.str("local"), t.str("remote"), t.str("state"), *info});
  });
  if (const json* at_error = r.find("tcp_info_at_error"); at_error && !at_error->is_null()) {
    std::string why;
    run.tcp_info_at_error = tcp_info_from_json(*at_error, &why);
    if (!run.tcp_info_at_error) r.add(r.at("tcp_info_at_error"), why);
  }
  r.members("tcp_counters", [&](const std::string& host, const json& v, const std::string& p) {
    Reader h(json::object({{"c", v}}), p, r.issues(), r.file(), "TCP counters");
    (void)h;
    Ordered<int64_t> values;
    if (!v.is_object()) {
      r.add(p, "expected an object of counters; got " + describe_json(v));
      return;
    }
    for (const auto& [name, n] : v.items()) {
      if (!n.is_number_integer()) r.add(p + "/" + escape_pointer_token(name), "expected a whole number; got " + describe_json(n));
      else values.emplace_back(name, n.get<int64_t>());
    }
    run.tcp_counters.emplace_back(host, std::move(values));
  });
  r.each("faults", [&](const json& v, const std::string& p) {
    Reader f(v, p, r.issues(), r.file(), "a fault record");
    run.faults.push_back({f.str("label"), f.opt_num("installed_ms"), f.opt_num("healed_ms")});
  });
  r.each("timeline", [&](const json& v, const std::string& p) {
    Reader e(v, p, r.issues(), r.file(), "a timeline entry");
    TimelineEntry entry;
    entry.t_ms = e.num("t_ms");
    if (e.has("sockets")) {
      Ordered<Ordered<int64_t>> hosts;
      e.members("sockets", [&](const std::string& host, const json& hv, const std::string& hp) {
        Ordered<int64_t> states;
        if (!hv.is_object()) {
          r.add(hp, "expected an object of state counts; got " + describe_json(hv));
          return;
        }
        for (const auto& [state, n] : hv.items()) {
          if (!n.is_number_integer()) r.add(hp + "/" + escape_pointer_token(state), "expected a whole number; got " + describe_json(n));
          else states.emplace_back(state, n.get<int64_t>());
        }
        hosts.emplace_back(host, std::move(states));
      });
      entry.sockets = std::move(hosts);
    } else {
      entry.event = e.str("event");
      entry.detail = e.str("detail");
      if (e.has("packet")) {
        Reader pk = e.child("packet", "a packet");
        auto u32 = [&](const char* key) { return static_cast<uint32_t>(std::max<int64_t>(0, pk.integer(key))); };
        entry.packet = PacketMark{pk.str("host"), pk.str("kind"), pk.str("direction"), u32("flow"), u32("seq"), u32("ack"),
                                  u32("len"), u32("window"), u32("ordinal"), pk.opt_num("gap_ms")};
      }
    }
    run.timeline.push_back(std::move(entry));
  });
  return run;
}

CellResult read_cell(const Reader& r) {
  CellResult cell;
  cell.id = r.str("id", true);
  if (const json* params = r.find("params")) {
    if (!params->is_object()) r.add(r.at("params"), "expected an object (pointer -> value); got " + describe_json(*params));
    else cell.params = *params;
  }
  r.each("runs", [&](const json& v, const std::string& p) { cell.runs.push_back(read_run(Reader(v, p, r.issues(), r.file(), "a run"))); }, true);
  r.each("expectations", [&](const json& v, const std::string& p) {
    Reader e(v, p, r.issues(), r.file(), "an expectation result");
    cell.expectations.push_back({e.str("check", true), e.boolean("passed", true), e.str("detail"), e.str("pointer")});
  });
  if (r.has("summary")) {
    Reader s = r.child("summary", "the cell's summary");
    cell.summary.runs = s.integer("runs");
    cell.summary.detected = s.integer("detected");
    if (s.has("detection_ms")) {
      Reader d = s.child("detection_ms", "the detection spread");
      cell.summary.detection_ms = DetectionSpread{d.num("min"), d.num("median"), d.num("max")};
    }
  } else {
    cell.summary.runs = static_cast<int64_t>(cell.runs.size());
  }
  cell.interrupted = r.has("interrupted") && r.boolean("interrupted");
  return cell;
}

ScenarioResult read_scenario(const Reader& r) {
  ScenarioResult s;
  s.name = r.str("name", true);
  s.file = r.str("file");
  s.description = r.str("description");
  r.each("matrix_axes", [&](const json& v, const std::string& p) {
    if (!v.is_string()) r.add(p, "expected a JSON Pointer string; got " + describe_json(v));
    else s.matrix_axes.push_back(v.get<std::string>());
  });
  r.each("cells", [&](const json& v, const std::string& p) { s.cells.push_back(read_cell(Reader(v, p, r.issues(), r.file(), "a cell"))); }, true);
  return s;
}

}  // namespace

json to_json(const RunResult& run) {
  json out = json::object();
  out["outcome"] = name(run.outcome);
  out["detection_ms"] = opt(run.detection_ms);
  out["detection_origin"] = run.detection_origin ? json(name(*run.detection_origin)) : json(nullptr);
  if (run.before_fault) out["before_fault"] = true;
  out["error"] = opt(run.error);
  out["syscall"] = opt(run.syscall);
  out["mechanism"] = run.mechanism ? json(name(*run.mechanism)) : json(nullptr);
  out["mechanism_basis"] = opt(run.mechanism_basis);
  out["mechanism_from_evidence"] = run.mechanism_from_evidence;
  if (run.error_detail) out["error_detail"] = *run.error_detail;
  out["fault_ms"] = opt(run.fault_ms);
  out["workload_end_ms"] = opt(run.workload_end_ms);
  out["deadline_ms"] = run.deadline_ms;
  out["duration_ms"] = run.duration_ms;
  out["sockets"] = ordered(run.sockets, host_sockets_json);
  out["probes"] = probes_json(run.probes);
  if (run.requests) out["requests"] = phases_json(*run.requests);
  if (run.command) out["command"] = command_json(*run.command);
  out["server"] = server_json(run.server);
  json infos = json::array();
  for (const auto& t : run.tcp_info) {
    json entry = {{"t_ms", t.t_ms}, {"host", t.host}, {"local", t.local}, {"remote", t.remote}, {"state", t.state}};
    entry.update(to_json(t.info));
    entry["state"] = t.state;  // the name, not tcp_info's number
    infos.push_back(std::move(entry));
  }
  out["tcp_info"] = infos;
  out["tcp_info_at_error"] = run.tcp_info_at_error ? to_json(*run.tcp_info_at_error) : json(nullptr);
  out["model"] = run.model ? model_json(*run.model) : json(nullptr);
  json lifetimes = json::array();
  for (const auto& m : run.lifetime_models) lifetimes.push_back(model_json(m));
  out["lifetime_models"] = lifetimes;
  out["capture"] = capture_json(run.capture);
  json links = json::array();
  for (const auto& l : run.links)
    links.push_back({{"between", {l.a, l.b}}, {"backend", l.backend}, {"seed", l.seed}, {"a_to_b", l.a_to_b},
                     {"b_to_a", l.b_to_a}, {"stats", l.stats}});
  out["links"] = links;
  if (run.workload_flow)
    out["workload_flow"] = {{"host", run.workload_flow->host},
                            {"local", run.workload_flow->local},
                            {"remote", run.workload_flow->remote},
                            {"sent", flow_counts_json(run.workload_flow->sent)},
                            {"received", flow_counts_json(run.workload_flow->received)}};
  else
    out["workload_flow"] = nullptr;
  out["tcp_counters"] = ordered(run.tcp_counters, counts);
  json faults = json::array();
  for (const auto& f : run.faults)
    faults.push_back({{"label", f.label}, {"installed_ms", opt(f.installed_ms)}, {"healed_ms", opt(f.healed_ms)}});
  out["faults"] = faults;
  out["timeline"] = timeline_json(run.timeline);
  return out;
}

json to_json(const CellResult& cell) {
  json runs = json::array();
  for (const auto& r : cell.runs) runs.push_back(to_json(r));
  json expectations = json::array();
  for (const auto& e : cell.expectations)
    expectations.push_back({{"check", e.check}, {"passed", e.passed}, {"detail", e.detail}, {"pointer", e.pointer}});
  json summary = {{"runs", cell.summary.runs}, {"detected", cell.summary.detected}};
  if (cell.summary.detection_ms)
    summary["detection_ms"] = {
        {"min", cell.summary.detection_ms->min}, {"median", cell.summary.detection_ms->median}, {"max", cell.summary.detection_ms->max}};
  json out = {{"id", cell.id}, {"params", cell.params}, {"runs", runs}, {"expectations", expectations}, {"summary", summary}};
  if (cell.interrupted) out["interrupted"] = true;
  return out;
}

json to_json(const ScenarioResult& s) {
  json cells = json::array();
  for (const auto& c : s.cells) cells.push_back(to_json(c));
  return {{"name", s.name}, {"file", s.file}, {"description", s.description}, {"matrix_axes", s.matrix_axes}, {"cells", cells}};
}

json to_json(const Results& results) {
  json scenarios = json::array();
  for (const auto& s : results.scenarios) scenarios.push_back(to_json(s));
  const Summary& sum = results.summary;
  json out = {{"version", results.version},
              {"kernel", results.kernel},
              {"started", results.started},
              {"scenarios", scenarios},
              {"summary",
               {{"cells", sum.cells},
                {"runs", sum.runs},
                {"expectations_passed", sum.expectations_passed},
                {"expectations_failed", sum.expectations_failed},
                {"errors", sum.errors}}}};
  if (results.interrupted) out["interrupted"] = true;
  return out;
}

Results results_from_json(const json& value, const std::string& file, const std::map<std::string, int>& lines) {
  std::vector<InputIssue> issues;
  Reader r(value, "", issues, file, "a sockchaos results.json");
  Results out;
  out.version = r.str("version");
  out.kernel = r.str("kernel");
  out.started = r.str("started");
  r.each("scenarios", [&](const json& v, const std::string& p) {
    out.scenarios.push_back(read_scenario(Reader(v, p, issues, file, "a scenario's results")));
  }, true);
  if (r.has("summary")) (void)r.child("summary", "the summary");  // recomputed below; its shape is checked
  out.summary = summarize(out.scenarios);
  out.interrupted = r.has("interrupted") && r.boolean("interrupted");
  if (!issues.empty()) {
    for (auto& issue : issues) issue.line = line_of(lines, issue.pointer);
    if (issues.size() > 50) issues.resize(50);
    throw ScenarioError(std::move(issues));
  }
  return out;
}

Results load_results_file(const std::string& path) {
  Document doc = load_document_file(path, kResultsLimits);
  return results_from_json(doc.value, path, doc.lines);
}

json to_json(const Model& m) {
  json inputs = json::object();
  for (const auto& [name, in] : m.inputs)
    inputs[name] = {{"value", in.value}, {"unit", in.unit}, {"origin", in.origin}, {"detail", in.detail}};
  json out = {{"quantity", m.quantity}};
  if (!m.host.empty()) out["host"] = m.host;
  out["ms"] = m.ms ? json(*m.ms) : json(nullptr);
  if (m.count) out["count"] = *m.count;
  out["mechanism"] = m.mechanism;
  out["error"] = m.error;
  out["formula"] = m.formula;
  out["inputs"] = inputs;
  out["lo_ms"] = m.lo_ms;
  out["hi_ms"] = m.hi_ms;
  out["window"] = m.window;
  out["source"] = m.source;
  out["would_fire_ms"] = m.would_fire_ms ? json(*m.would_fire_ms) : json(nullptr);
  if (!m.would_be_mechanism.empty()) out["would_be_mechanism"] = m.would_be_mechanism;
  out["notes"] = m.notes;
  return out;
}

}  // namespace sockchaos::harness
