#include "harness/advise/advise.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/duration.hpp"
#include "harness/model/link_profiles.hpp"
#include "harness/model/load.hpp"

namespace sockchaos::harness {

namespace {

constexpr double kRtoMinMs = 200;      // TCP_RTO_MIN, include/net/tcp.h
constexpr double kSynInitRtoMs = 1000;  // TCP_TIMEOUT_INIT, include/net/tcp.h
constexpr double kRtoMaxMs = 120000;    // TCP_RTO_MAX

std::string fmt_num(double v, int decimals = 1) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(decimals);
  o << v;
  std::string s = o.str();
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

std::string ms_text(double ms) {
  if (ms >= 1000) return fmt_num(ms / 1000.0, 3) + " s";
  return fmt_num(ms, 1) + " ms";
}

std::string duration_text(double ms) {
  return format_duration(Nanos(static_cast<int64_t>(std::llround(ms * 1e6))));
}

bool is_idle_kind(const std::string& mode) {
  return mode == "idle" || mode == "crash" || mode == "reboot" || mode == "rst";
}

int env_int(const KernelEnvironment& env, const std::string& key, int fallback) {
  auto it = env.sysctl.find(key);
  if (it == env.sysctl.end()) {
    auto d = KernelEnvironment::linux_defaults();
    it = d.sysctl.find(key);
    if (it == d.sysctl.end()) return fallback;
    return std::atoi(it->second.c_str());
  }
  return std::atoi(it->second.c_str());
}

}  // namespace

const std::vector<std::string>& mode_names() {
  static const std::vector<std::string> names = {"idle", "busy", "zero-window", "syn-sent", "crash", "reboot", "rst"};
  return names;
}

const std::vector<std::string>& audit_only_mode_names() {
  static const std::vector<std::string> names = {"port-exhaustion"};
  return names;
}

std::string mode_description(const std::string& mode) {
  if (mode == "idle") return "the peer host vanishes while the client waits to read";
  if (mode == "busy") return "the peer host vanishes while the client sends";
  if (mode == "zero-window") return "the peer process stops reading (its kernel still ACKs)";
  if (mode == "syn-sent") return "the peer host is gone before connect (SYN blackhole)";
  if (mode == "crash") return "the peer host crashes (processes and sockets gone, nothing answers)";
  if (mode == "reboot") return "the peer host crashes and comes back empty";
  if (mode == "rst") return "the connection is reset (a middlebox or the peer answers with RST)";
  if (mode == "port-exhaustion") return "the client host runs out of ephemeral ports";
  return "";
}

// ---- links -------------------------------------------------------------------------------

std::string LinkChoice::label() const {
  if (!profile.empty()) return profile;
  if (!rtt_ms && !loss) return "veth";
  std::string s;
  if (rtt_ms) s += "rtt " + duration_text(*rtt_ms);
  if (loss) s += std::string(s.empty() ? "" : " ") + "loss " + fmt_num(*loss * 100, 3) + "%";
  return s;
}

std::optional<json> LinkChoice::link_object() const {
  if (profile.empty() && !rtt_ms && !loss) return std::nullopt;
  json link = {{"between", {"client", "server"}}};
  if (!profile.empty()) link["profile"] = profile;
  if (rtt_ms) link["delay"] = duration_text(*rtt_ms / 2);
  if (loss) link["loss"] = *loss;
  return link;
}

double LinkChoice::rtt_estimate_ms() const {
  if (rtt_ms) return *rtt_ms;
  if (!profile.empty())
    if (const auto* p = find_link_profile(profile)) {
      const json& k = p->keys;
      if (k.contains("delay") && k["delay"].is_string())
        if (auto d = parse_duration(k["delay"].get<std::string>())) return 2.0 * static_cast<double>(d->count()) / 1e6;
    }
  return 0.05;  // a veth pair
}

// ---- pins --------------------------------------------------------------------------------

std::string add_pin(Pins& pins, const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos) return "--keep: expected KEY=VALUE, got \"" + kv + "\"";
  const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
  auto as_seconds = [&](std::optional<int>& out) -> std::string {
    std::string why;
    auto d = parse_duration(value, &why);
    if (!d) return "--keep " + key + ": " + why;
    const auto ns = d->count();
    if (ns <= 0 || ns % 1000000000 != 0)
      return "--keep " + key + ": the kernel takes whole seconds (1s or more), got \"" + value + "\"";
    out = static_cast<int>(ns / 1000000000);
    return "";
  };
  auto as_ms = [&](std::optional<double>& out, bool allow_off) -> std::string {
    if (allow_off && value == "off") {
      out = 0;
      return "";
    }
    std::string why;
    auto d = parse_duration(value, &why);
    if (!d) return "--keep " + key + ": " + why;
    out = static_cast<double>(d->count()) / 1e6;
    return "";
  };
  if (key == "keepalive" && value == "off") {
    pins.keepalive_off = true;
    return "";
  }
  if (key == "keepalive.idle") return as_seconds(pins.idle_s);
  if (key == "keepalive.interval") return as_seconds(pins.interval_s);
  if (key == "keepalive.count" || key == "syn_count") {
    char* end = nullptr;
    const long n = std::strtol(value.c_str(), &end, 10);
    const long hi = key == "syn_count" ? 127 : 127;  // TCP_SYNCNT <= MAX_TCP_SYNCNT; TCP_KEEPCNT <= MAX_TCP_KEEPCNT
    if (value.empty() || *end != '\0' || n < 1 || n > hi)
      return "--keep " + key + ": expected a whole number 1-" + std::to_string(hi) + ", got \"" + value + "\"";
    (key == "syn_count" ? pins.syn_count : pins.count) = static_cast<int>(n);
    return "";
  }
  if (key == "tcp_user_timeout") return as_ms(pins.user_timeout_ms, true);
  if (key == "app_timeout") return as_ms(pins.app_timeout_ms, false);
  return "--keep: unknown key \"" + key +
         "\" (known: keepalive=off, keepalive.idle, keepalive.interval, keepalive.count, tcp_user_timeout, syn_count, "
         "app_timeout)";
}

std::string validate_request(const AdviseRequest& r) {
  if (!(r.within_ms > 0)) return "--within: a positive duration is required, e.g. --within 8s";
  if (r.modes.empty()) return "--modes: at least one mode";
  for (const auto& m : r.modes) {
    const auto& names = mode_names();
    if (std::find(names.begin(), names.end(), m) != names.end()) continue;
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    if (std::find(audit_only_mode_names().begin(), audit_only_mode_names().end(), m) != audit_only_mode_names().end())
      return "mode \"" + m + "\" is not a dead-peer detection mode advise can tune (sockchaos audit runs it); known: " +
             known;
    return "unknown mode \"" + m + "\" (known: " + known + ")";
  }
  if (!r.link.profile.empty() && !find_link_profile(r.link.profile)) {
    std::string known;
    for (const auto& p : link_profiles()) known += (known.empty() ? "" : ", ") + p.name;
    return "unknown link profile \"" + r.link.profile + "\" (known: " + known + ")";
  }
  if (r.link.loss && (*r.link.loss < 0 || *r.link.loss > 1)) return "--loss: a probability 0-1";
  if (r.pins.keepalive_off && (r.pins.idle_s || r.pins.interval_s || r.pins.count))
    return "--keep keepalive=off contradicts the other keepalive pins";
  return "";
}

// ---- options -----------------------------------------------------------------------------

json OptionSet::socket_json() const {
  json o = json::object();
  if (keepalive)
    o["keepalive"] = {{"idle", std::to_string(idle_s) + "s"},
                      {"interval", std::to_string(interval_s) + "s"},
                      {"count", count}};
  if (user_timeout_ms > 0) o["tcp_user_timeout"] = duration_text(user_timeout_ms);
  if (syn_count) o["syn_count"] = *syn_count;
  return o;
}

// ---- scenarios ---------------------------------------------------------------------------

json build_mode_scenario(const ModeScenarioInput& in, const std::string& name) {
  const std::string& mode = in.mode;
  const bool user_client = !in.client_command.empty();
  // A user's program gets a second to connect and send its request before the fault.
  const double at = user_client ? 1000 : kFaultAfterReadyMs;
  const double deadline = in.deadline_ms ? *in.deadline_ms : std::max(3000.0, in.within_ms * 1.5 + 2000);
  json s;
  s["name"] = name;
  s["description"] = "sockchaos advise/audit: " + mode_description(mode) + (in.link.label() == "veth" ? "" : " (" + in.link.label() + ")");
  // The advisor's cells need only the detection; an audit's evidence (what the kernel sent for
  // the user's program) comes from the capture.
  s["capture"] = user_client;
  json server = {{"on", "server"}, {"port", in.port}};
  json client = {{"on", "client"}, {"connect", "server:" + std::to_string(in.port)}};
  json fault = {{"on", "server"}};
  std::string behavior = "echo";
  json workload = {{"kind", "idle"}};
  if (mode == "idle") {
    fault["kind"] = "blackhole";
    fault["at"] = duration_text(at);
  } else if (mode == "busy") {
    behavior = "sink";
    workload = {{"kind", "stream"}, {"rate", "100KiB/s"}};
    fault["kind"] = "blackhole";
    fault["at"] = duration_text(at);
  } else if (mode == "zero-window") {
    behavior = "sink";
    workload = {{"kind", "stream"}, {"rate", "10MiB/s"}};
    fault["kind"] = "pause";
    fault["at"] = duration_text(at);
    fault["until"] = duration_text(deadline - 200);
  } else if (mode == "syn-sent") {
    fault["kind"] = "blackhole";
    fault["at"] = "0s";
  } else if (mode == "crash") {
    fault["kind"] = "crash";
    fault["at"] = duration_text(at);
  } else if (mode == "reboot") {
    fault["kind"] = "crash";
    fault["at"] = duration_text(at);
    // Back (empty) half-way to the bound: the client's next packet meets a RST.
    fault["until"] = duration_text(at + std::max(500.0, std::floor(in.within_ms / 2)));
  } else if (mode == "rst") {
    fault["kind"] = "reject";
    fault["with"] = "tcp-reset";
    fault["at"] = duration_text(at);
  }
  if (user_client) {
    // The user's program talks to a server that reads its request and never answers (it waits
    // like an idle reader); for zero-window one that never reads.
    if (mode == "zero-window") behavior = "stall", fault = nullptr;
    else if (mode != "busy") behavior = "hold";
    else behavior = "sink";
    workload = {{"kind", "command"}, {"command", in.client_command}};
  }
  if (!in.server_command.empty()) {
    behavior = "command";
    server["command"] = in.server_command;
  }
  server["behavior"] = behavior;
  client["workload"] = workload;
  if (!user_client) {
    json socket = in.options.socket_json();
    if (!socket.empty()) client["socket"] = socket;
    if (in.options.app_timeout_ms) client["app_timeout"] = duration_text(*in.options.app_timeout_ms);
  }
  s["server"] = server;
  s["client"] = client;
  s["faults"] = (fault.is_null() || !fault.contains("kind")) ? json::array() : json::array({fault});
  if (!in.options.sysctl.empty() && !user_client) {
    json sys = json::object();
    for (const auto& [k, v] : in.options.sysctl) sys[k] = v;
    s["hosts"] = {{"client", {{"sysctl", sys}}}, {"server", json::object()}};
  }
  if (auto link = in.link.link_object()) s["links"] = json::array({*link});
  s["deadline"] = duration_text(deadline);
  if (!user_client) s["expect"] = json::array({{{"detected_within", duration_text(in.within_ms)}}});
  return s;
}

// ---- margin against false positives ------------------------------------------------------

namespace {

struct Margin {
  double busy = 0, zero_window = 0, idle = 0, syn = 0;
};

// The longest loss burst a healthy connection survives in `mode` with these options: the
// burst starts with the first packet it swallows; the connection lives when a retransmission
// (or keepalive probe, or SYN) goes out after the burst and before the kernel gives up.
double burst_tolerance(const std::string& mode, const OptionSet& o, double rtt_ms, const KernelEnvironment& env) {
  const int hz = env.hz;
  const int64_t rto_j = kernel::rto_jiffies(rtt_ms, rtt_ms / 2, kRtoMinMs, hz);
  const double rto_ms = kernel::jiffies_to_msecs(rto_j, hz);
  if (mode == "busy" || mode == "zero-window") {
    double budget;
    bool clamp = o.user_timeout_ms > 0;
    if (clamp) budget = o.user_timeout_ms;
    else budget = kernel::tcp_model_timeout_ms(env_int(env, "net.ipv4.tcp_retries2", 15), rto_ms, kRtoMaxMs, hz);
    auto d = kernel::retransmit_until_death(rto_j, kRtoMaxMs, budget, clamp, hz);
    const double last_sent = d.expiries_ms.size() >= 2 ? d.expiries_ms[d.expiries_ms.size() - 2] : 0;
    return rto_ms + last_sent;
  }
  if (mode == "syn-sent") {
    const int retries = o.syn_count ? *o.syn_count : env_int(env, "net.ipv4.tcp_syn_retries", 6);
    const int linear = env_int(env, "net.ipv4.tcp_syn_linear_timeouts", 4);
    std::optional<double> ut;
    if (o.user_timeout_ms > 0) ut = o.user_timeout_ms;
    auto d = kernel::syn_until_death(retries, linear, kSynInitRtoMs, kRtoMaxMs, ut, hz);
    return d.syn_times_ms.empty() ? 0 : d.syn_times_ms.back();
  }
  // idle kinds: keepalive probes
  if (!o.keepalive) return 0;
  std::optional<double> ut;
  if (o.user_timeout_ms > 0) ut = o.user_timeout_ms;
  auto d = kernel::keepalive_until_death(o.idle_s * 1000.0, o.interval_s * 1000.0, o.count, ut);
  return std::max(0, d.probes - 1) * o.interval_s * 1000.0;
}

struct Prediction {
  std::optional<double> worst_ms;
  std::string mechanism, error, formula;
};

class Searcher {
 public:
  Searcher(const AdviseRequest& r, const KernelEnvironment& env) : r_(r), env_(env) {}

  Prediction predict(const std::string& mode, const OptionSet& o) {
    ModeScenarioInput in;
    in.mode = mode;
    in.link = r_.link;
    in.options = o;
    in.within_ms = r_.within_ms;
    const json doc = build_mode_scenario(in, "advise-" + mode);
    // Keepalive does not run while data is in flight (tcp_keepalive_timer skips a socket with
    // packets out or a send head) nor before the connection is established: the predictions of
    // busy, zero-window and syn-sent do not depend on it, so they are shared across keepalive times.
    json client_key = doc["client"];
    if (!is_idle_kind(mode) && client_key.contains("socket")) client_key["socket"].erase("keepalive");
    const std::string key = mode + client_key.dump() + (doc.contains("hosts") ? doc["hosts"].dump() : "");
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    ++evaluated_;
    Prediction p;
    try {
      const Scenario s = load_scenario_json(doc, "advise");
      const Model m = predict_detection(s, env_);
      p.mechanism = m.mechanism;
      p.error = m.error;
      p.formula = m.formula;
      if (m.ms && m.mechanism != "unmodelled" && m.mechanism != "undetected") {
        double worst = std::max(m.hi_ms, *m.ms);
        if (mode != "syn-sent") worst += kFaultAfterReadyMs;  // the fault may come right after an answer
        p.worst_ms = worst;
      }
    } catch (const std::exception& e) {
      p.mechanism = "unmodelled";
      p.formula = e.what();
    }
    cache_.emplace(key, p);
    return p;
  }
  int evaluated() const { return evaluated_; }

 private:
  const AdviseRequest& r_;
  const KernelEnvironment& env_;
  std::map<std::string, Prediction> cache_;
  int evaluated_ = 0;
};

std::vector<double> user_timeout_grid(const AdviseRequest& r) {
  if (r.pins.user_timeout_ms) return {*r.pins.user_timeout_ms};
  std::vector<double> out = {0};
  // Steps of 250 ms (a multiple of the 4 ms jiffy) up to the bound, at most ~48 values; at least
  // up to 4 s so that an impossible bound still finds the best achievable.
  const double upto = std::max(r.within_ms, 4000.0);
  double step = 250;
  while (upto / step > 48) step *= 2;
  for (double t = step; t <= upto + 1e-9; t += step) out.push_back(t);
  return out;
}

std::vector<int> seconds_grid(std::optional<int> pin, double within_ms) {
  if (pin) return {*pin};
  std::vector<int> out;
  const int max_s = std::max(1, static_cast<int>(std::floor(within_ms / 1000.0)));
  for (int s = 1; s <= max_s && out.size() < 24; ++s) out.push_back(s);
  if (max_s > 24)
    for (int s = 30; s <= max_s && out.size() < 40; s *= 2) out.push_back(s);
  return out;
}

}  // namespace

// ---- the search --------------------------------------------------------------------------

Advice advise(const AdviseRequest& r, const KernelEnvironment& env) {
  Advice a;
  a.request = r;
  Searcher searcher(r, env);
  const double rtt = r.link.rtt_estimate_ms();
  const bool any_idle = std::any_of(r.modes.begin(), r.modes.end(), is_idle_kind);
  const bool want_syn = std::find(r.modes.begin(), r.modes.end(), "syn-sent") != r.modes.end();

  std::vector<OptionSet> candidates;
  for (double ut : user_timeout_grid(r)) {
    OptionSet base;
    base.user_timeout_ms = ut;
    base.app_timeout_ms = r.pins.app_timeout_ms;
    std::vector<OptionSet> with_ka;
    if (any_idle && !r.pins.keepalive_off) {
      for (int idle : seconds_grid(r.pins.idle_s, r.within_ms))
        for (int intvl : seconds_grid(r.pins.interval_s, r.within_ms)) {
          if (!r.pins.idle_s && !r.pins.interval_s && idle + intvl > r.within_ms / 1000.0 + 1e-9) continue;
          OptionSet o = base;
          o.keepalive = true;
          o.idle_s = idle;
          o.interval_s = intvl;
          if (r.pins.count) {
            o.count = *r.pins.count;
          } else {
            // Article 004's rule: TCP_USER_TIMEOUT ~ KEEPIDLE + KEEPINTVL * KEEPCNT, so that a
            // stack without a user timeout ends at the same keepalive timer the user timeout ends
            // it (tcp_keepalive_timer: the first firing with elapsed >= it): count = the probes
            // sent until then. Without a user timeout, the probes that fit in the bound.
            if (ut > 0)
              o.count = std::clamp(static_cast<int>(std::ceil((ut - idle * 1000.0) / (intvl * 1000.0) - 1e-9)), 1, 9);
            else
              o.count = std::clamp(static_cast<int>(std::floor((r.within_ms - idle * 1000.0) / (intvl * 1000.0))), 1, 9);
          }
          with_ka.push_back(o);
        }
    } else {
      with_ka.push_back(base);
    }
    for (auto& o : with_ka) {
      if (want_syn && !r.pins.syn_count) {
        o.syn_count.reset();
        candidates.push_back(o);
        for (int n = 1; n <= 6; ++n) {
          OptionSet s = o;
          s.syn_count = n;
          candidates.push_back(s);
        }
      } else {
        if (r.pins.syn_count) o.syn_count = r.pins.syn_count;
        candidates.push_back(o);
      }
    }
  }
  if (r.allow_sysctl) {
    // Programs that cannot set options: the same times as the namespace's defaults (they apply to
    // every socket with SO_KEEPALIVE on, and to every connection's retransmissions).
    for (auto& o : candidates) {
      if (o.keepalive) {
        o.sysctl["net.ipv4.tcp_keepalive_time"] = std::to_string(o.idle_s);
        o.sysctl["net.ipv4.tcp_keepalive_intvl"] = std::to_string(o.interval_s);
        o.sysctl["net.ipv4.tcp_keepalive_probes"] = std::to_string(o.count);
      }
      if (o.syn_count) o.sysctl["net.ipv4.tcp_syn_retries"] = std::to_string(*o.syn_count);
    }
  }

  struct Scored {
    OptionSet o;
    std::vector<ModePlan> plan;
    bool meets = false;
    double margin = 0, margin_sum = 0, worst_over = 0, worst = 0;
  };
  std::optional<Scored> best;
  auto better = [&](const Scored& x, const Scored& y) {
    if (x.meets != y.meets) return x.meets;
    if (!x.meets) {
      if (std::abs(x.worst_over - y.worst_over) > 1e-6) return x.worst_over < y.worst_over;
    }
    const double wanted = r.wanted_burst_ms;
    const bool xw = x.margin >= wanted, yw = y.margin >= wanted;
    if (xw != yw) return xw;
    if (!xw && std::abs(x.margin - y.margin) > 1e-6) return x.margin > y.margin;
    if (!xw && std::abs(x.margin_sum - y.margin_sum) > 1e-6) return x.margin_sum > y.margin_sum;
    // Both survive the wanted burst: the fewest probes (largest idle), the fewest options, then
    // the most margin, then the fastest.
    if (x.o.idle_s != y.o.idle_s) return x.o.idle_s > y.o.idle_s;
    if (x.o.syn_count.has_value() != y.o.syn_count.has_value()) return !x.o.syn_count.has_value();
    if (std::abs(x.margin - y.margin) > 1e-6) return x.margin > y.margin;
    return x.worst < y.worst;
  };
  std::map<std::string, ModePlan> best_per_mode;  // the fastest any candidate achieves
  for (const auto& o : candidates) {
    Scored sc;
    sc.o = o;
    sc.meets = true;
    sc.margin = 1e18;
    for (const auto& mode : r.modes) {
      const Prediction p = searcher.predict(mode, o);
      ModePlan mp;
      mp.mode = mode;
      mp.model_ms = p.worst_ms;
      mp.mechanism = p.mechanism;
      mp.error = p.error;
      mp.formula = p.formula;
      mp.burst_tolerance_ms = burst_tolerance(mode, o, rtt, env);
      mp.meets = p.worst_ms && *p.worst_ms <= r.within_ms;
      // syn-sent: a lost SYN (or SYN-ACK) of a healthy connect is only retransmitted at
      // TCP_TIMEOUT_INIT; giving up before that answer could arrive fails healthy connects.
      if (mode == "syn-sent" && mp.burst_tolerance_ms < kSynInitRtoMs) mp.meets = false;
      if (!mp.meets) sc.meets = false;
      const double w = p.worst_ms ? *p.worst_ms : 1e12;
      sc.worst = std::max(sc.worst, w);
      sc.worst_over = std::max(sc.worst_over, w - r.within_ms);
      if (mode != "syn-sent" || mp.burst_tolerance_ms >= kSynInitRtoMs) {
        auto& bm = best_per_mode[mode];
        if (p.worst_ms && (!bm.model_ms || *p.worst_ms < *bm.model_ms)) bm = mp;
      }
      sc.margin = std::min(sc.margin, mp.burst_tolerance_ms);
      sc.margin_sum += mp.burst_tolerance_ms;
      sc.plan.push_back(mp);
    }
    if (!best || better(sc, *best)) best = sc;
  }
  a.candidates = searcher.evaluated();
  if (!best) return a;
  a.options = best->o;
  a.plan = best->plan;
  a.achievable = best->meets;
  a.margin_ms = best->margin;
  for (auto& mp : a.plan) {
    if (mp.meets) continue;
    const auto it = best_per_mode.find(mp.mode);
    if (it != best_per_mode.end() && it->second.model_ms) mp.best_achievable_ms = it->second.model_ms;
    if (mp.mode == "syn-sent") {
      const double floor_ms = kSynInitRtoMs + rtt;
      mp.reason = "a connect can fail no sooner than the first SYN retransmission's answer: TCP_TIMEOUT_INIT " +
                  ms_text(kSynInitRtoMs) + " (include/net/tcp.h; net/ipv4/tcp_timer.c: retransmits_timed_out needs one "
                  "retransmission) + one RTT = " + ms_text(floor_ms) +
                  "; an application connect timeout below that fails every healthy connect whose first SYN is lost";
    } else if (is_idle_kind(mp.mode)) {
      mp.reason = "keepalive works in whole seconds (TCP_KEEPIDLE, TCP_KEEPINTVL >= 1 s) and needs one unanswered "
                  "probe before it gives up (tcp_keepalive_timer: probes_out > 0): idle + interval >= 2 s";
    } else {
      mp.reason = "the first retransmission comes one RTO (>= TCP_RTO_MIN 200 ms, plus a tail loss probe) after the "
                  "fault, and TCP_USER_TIMEOUT counts from it (tp->retrans_stamp)";
    }
    if (r.pins.user_timeout_ms || r.pins.idle_s || r.pins.interval_s || r.pins.count || r.pins.keepalive_off)
      mp.reason += "; --keep pins limit the search";
  }
  if (a.margin_ms < r.wanted_burst_ms)
    a.notes.push_back("these options give up after a loss burst of " + ms_text(a.margin_ms) + " on a healthy link (wanted " +
                      ms_text(r.wanted_burst_ms) + "): the bound leaves no more room");
  if (!any_idle)
    a.notes.push_back("keepalive is not set: no idle mode was asked for (an idle socket without it never notices)");
  a.notes.push_back("no application timeout is chosen: a read timeout fires on a healthy idle connection too; pin one "
                    "with --keep app_timeout=D for request/response code");
  return a;
}

// ---- verification ------------------------------------------------------------------------

std::vector<Verified> compare_verification(const Advice& advice, const Results& results) {
  std::vector<Verified> out;
  for (const auto& sr : results.scenarios) {
    // names: advise-<mode>[-<n>]
    std::string mode;
    for (const auto& m : mode_names())
      if (sr.name == "advise-" + m || sr.name.rfind("advise-" + m + "-link", 0) == 0) mode = m;
    for (const auto& cell : sr.cells) {
      for (const auto& run : cell.runs) {
        Verified v;
        v.mode = mode;
        v.link = advice.request.link.label();
        if (run.outcome == Outcome::error || run.outcome == Outcome::skipped) {
          v.run_error = run.error_detail.value_or("the run errored");
        }
        v.measured_ms = run.detection_ms;
        if (run.detection_ms) v.detection_ms = *run.detection_ms + (mode == "syn-sent" ? 0 : kFaultAfterReadyMs);
        v.within = v.detection_ms && *v.detection_ms <= advice.request.within_ms && v.run_error.empty();
        v.mechanism = run.mechanism ? std::string(name_string(*run.mechanism)) : (run.detection_ms ? "" : "undetected");
        v.error = run.error.value_or("");
        v.basis = run.mechanism_basis.value_or("");
        for (const auto& p : advice.plan)
          if (p.mode == mode) v.model_ms = p.model_ms;
        if (v.model_ms && v.detection_ms) {
          if (*v.detection_ms > *v.model_ms)
            v.disagreement = "measured " + ms_text(*v.detection_ms) + " is later than the model's worst case " +
                             ms_text(*v.model_ms) + ": the run wins";
        } else if (v.model_ms && !v.detection_ms) {
          v.disagreement = "the model predicted " + ms_text(*v.model_ms) + " but the run did not detect: the run wins";
        }
        if (run.model && !run.model->check.holds && run.model->model.mechanism != "unmodelled" &&
            !run.model->check.why.empty())
          v.disagreement += std::string(v.disagreement.empty() ? "" : "; ") +
                            "the kernel model of this run does not hold (" + run.model->check.why + "): the run wins";
        for (const auto& p : advice.plan)
          if (p.mode == mode && !p.mechanism.empty() && !v.mechanism.empty() && v.mechanism != "undetected" &&
              p.mechanism != v.mechanism) {
            v.disagreement += std::string(v.disagreement.empty() ? "" : "; ") + "the model said " + p.mechanism +
                              ", the run shows " + v.mechanism + ": the run wins";
          }
        out.push_back(v);
      }
    }
  }
  return out;
}

// ---- output ------------------------------------------------------------------------------

json advice_json(const Advice& a, const std::vector<Verified>& verified, const Snippets& sn) {
  json j;
  j["within_ms"] = a.request.within_ms;
  j["modes"] = a.request.modes;
  j["link"] = a.request.link.label();
  j["options"] = a.options.socket_json();
  json sys = json::object();
  for (const auto& [k, v] : a.options.sysctl) sys[k] = v;
  j["sysctl"] = sys;
  j["app_timeout"] = a.options.app_timeout_ms ? json(duration_text(*a.options.app_timeout_ms)) : json(nullptr);
  j["achievable"] = a.achievable;
  j["false_positive_margin_ms"] = std::round(a.margin_ms * 10) / 10;
  json model = json::array();
  for (const auto& p : a.plan) {
    json m = {{"mode", p.mode}, {"mechanism", p.mechanism}, {"meets", p.meets},
              {"burst_tolerance_ms", std::round(p.burst_tolerance_ms * 10) / 10}, {"formula", p.formula}};
    m["model_ms"] = p.model_ms ? json(std::round(*p.model_ms * 10) / 10) : json(nullptr);
    if (!p.meets) {
      m["best_achievable_ms"] = p.best_achievable_ms ? json(std::round(*p.best_achievable_ms * 10) / 10) : json(nullptr);
      m["reason"] = p.reason;
    }
    model.push_back(m);
  }
  j["model"] = model;
  json ver = json::array();
  for (const auto& v : verified) {
    json e = {{"mode", v.mode}, {"link", v.link}, {"within", v.within}, {"mechanism", v.mechanism}, {"error", v.error}};
    e["detection_ms"] = v.detection_ms ? json(std::round(*v.detection_ms * 10) / 10) : json(nullptr);
    e["measured_ms"] = v.measured_ms ? json(std::round(*v.measured_ms * 10) / 10) : json(nullptr);
    e["model_ms"] = v.model_ms ? json(std::round(*v.model_ms * 10) / 10) : json(nullptr);
    if (!v.basis.empty()) e["basis"] = v.basis;
    if (!v.disagreement.empty()) e["disagreement"] = v.disagreement;
    if (!v.run_error.empty()) e["run_error"] = v.run_error;
    ver.push_back(e);
  }
  j["verified"] = ver;
  j["notes"] = a.notes;
  j["snippets"] = {{"c", sn.c}, {"go", sn.go}, {"java", sn.java}, {"python", sn.python}, {"envoy", sn.envoy},
                   {"sysctl", sn.sysctl}};
  return j;
}

namespace {

std::string pad(const std::string& s, size_t n) { return s.size() >= n ? s + " " : s + std::string(n - s.size(), ' '); }

struct TableRow {
  std::string mode, bound, model, measured, mechanism, verdict;
};

std::vector<TableRow> table_rows(const Advice& a, const std::vector<Verified>& verified) {
  std::vector<TableRow> rows;
  for (const auto& p : a.plan) {
    TableRow r;
    r.mode = p.mode;
    r.bound = ms_text(a.request.within_ms);
    r.model = p.model_ms ? ms_text(*p.model_ms) : "never";
    r.mechanism = p.mechanism;
    r.measured = "not run";
    r.verdict = p.meets ? "model: meets" : "model: misses";
    for (const auto& v : verified)
      if (v.mode == p.mode) {
        r.measured = !v.run_error.empty() ? "error" : v.detection_ms ? ms_text(*v.detection_ms) : "undetected";
        if (!v.mechanism.empty()) r.mechanism = v.mechanism;
        r.verdict = v.within ? "PASS" : "FAIL";
        if (!v.disagreement.empty()) r.verdict += " (model and run disagree)";
      }
    rows.push_back(r);
  }
  return rows;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

}  // namespace

std::string advice_text(const Advice& a, const std::vector<Verified>& verified, const Snippets& sn) {
  std::ostringstream o;
  o << "sockchaos advise: notice a dead peer within " << ms_text(a.request.within_ms) << " on " << a.request.link.label()
    << "\n\n";
  o << "options (scenario \"socket\" keys): " << a.options.socket_json().dump() << "\n";
  if (!a.options.sysctl.empty()) {
    o << "sysctl:";
    for (const auto& [k, v] : a.options.sysctl) o << " " << k << "=" << v;
    o << "\n";
  }
  o << "false-positive margin: a healthy connection survives loss bursts up to " << ms_text(a.margin_ms) << "\n";
  o << "searched " << a.candidates << " predictions with the kernel model\n\n";
  o << pad("mode", 13) << pad("bound", 10) << pad("model", 11) << pad("measured", 11) << pad("mechanism", 18)
    << "verdict\n";
  for (const auto& r : table_rows(a, verified))
    o << pad(r.mode, 13) << pad(r.bound, 10) << pad(r.model, 11) << pad(r.measured, 11) << pad(r.mechanism, 18)
      << r.verdict << "\n";
  for (const auto& p : a.plan)
    if (!p.meets)
      o << "\n" << p.mode << ": the bound cannot be met; best achievable "
        << (p.best_achievable_ms ? ms_text(*p.best_achievable_ms) : std::string("none")) << ": " << p.reason << "\n";
  for (const auto& v : verified)
    if (!v.disagreement.empty()) o << "\n" << v.mode << ": " << v.disagreement << "\n";
  for (const auto& v : verified)
    if (!v.run_error.empty()) o << "\n" << v.mode << ": run error: " << v.run_error << "\n";
  for (const auto& n : a.notes) o << "\nnote: " << n;
  o << "\n\n--- C ---\n" << sn.c << "\n--- Go ---\n" << sn.go << "\n--- Java ---\n" << sn.java << "\n--- Python ---\n"
    << sn.python << "\n--- Envoy / Istio ---\n" << sn.envoy << "\n--- sysctl ---\n" << sn.sysctl;
  return o.str();
}

std::string advice_html(const Advice& a, const std::vector<Verified>& verified, const Snippets& sn) {
  std::ostringstream o;
  o << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>sockchaos advise</title><style>"
       "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
       "padding:4px 8px;text-align:left}pre{background:#f4f4f4;padding:8px}.PASS{color:#070}.FAIL{color:#a00}"
       "</style></head><body>\n";
  o << "<h1>Notice a dead peer within " << html_escape(ms_text(a.request.within_ms)) << "</h1>\n<p>Link: "
    << html_escape(a.request.link.label()) << ". Options: <code>" << html_escape(a.options.socket_json().dump())
    << "</code>. A healthy connection survives loss bursts up to " << html_escape(ms_text(a.margin_ms)) << ".</p>\n";
  o << "<table><tr><th>mode</th><th>bound</th><th>model</th><th>measured</th><th>mechanism</th><th>verdict</th></tr>\n";
  for (const auto& r : table_rows(a, verified))
    o << "<tr><td>" << html_escape(r.mode) << "</td><td>" << html_escape(r.bound) << "</td><td>" << html_escape(r.model)
      << "</td><td>" << html_escape(r.measured) << "</td><td>" << html_escape(r.mechanism) << "</td><td class=\""
      << (r.verdict.rfind("PASS", 0) == 0 ? "PASS" : r.verdict.rfind("FAIL", 0) == 0 ? "FAIL" : "") << "\">"
      << html_escape(r.verdict) << "</td></tr>\n";
  o << "</table>\n";
  for (const auto& p : a.plan)
    if (!p.meets) o << "<p><b>" << html_escape(p.mode) << "</b>: cannot be met: " << html_escape(p.reason) << "</p>\n";
  for (const auto& v : verified)
    if (!v.disagreement.empty()) o << "<p><b>" << html_escape(v.mode) << "</b>: " << html_escape(v.disagreement) << "</p>\n";
  for (const auto& n : a.notes) o << "<p>" << html_escape(n) << "</p>\n";
  const std::pair<const char*, const std::string*> parts[] = {{"C", &sn.c},           {"Go", &sn.go},
                                                              {"Java", &sn.java},     {"Python", &sn.python},
                                                              {"Envoy / Istio", &sn.envoy}, {"sysctl", &sn.sysctl}};
  for (const auto& [title, text] : parts) o << "<h2>" << title << "</h2>\n<pre>" << html_escape(*text) << "</pre>\n";
  o << "</body></html>\n";
  return o.str();
}

}  // namespace sockchaos::harness
