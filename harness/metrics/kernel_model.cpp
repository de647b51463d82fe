#include "harness/metrics/kernel_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace sockchaos::harness {
namespace kernel {

int64_t msecs_to_jiffies(double ms, int hz) {
  if (ms <= 0) return 0;
  // include/linux/jiffies.h: _msecs_to_jiffies rounds up.
  return static_cast<int64_t>(std::ceil(ms * hz / 1000.0 - 1e-9));
}

double jiffies_to_msecs(int64_t jiffies, int hz) { return static_cast<double>(jiffies) * 1000.0 / hz; }

WheelSlot timer_wheel_slot(int64_t delay_jiffies, int hz) {
  // kernel/time/timer.c: LVL_CLK_SHIFT 3, LVL_BITS 6, LVL_START(n) = 63 << (3 * (n - 1)),
  // LVL_GRAN(n) = 1 << (3 * n). calc_index() rounds the expiry up to the level's
  // granularity, so the timer fires after `delay` and at most one granularity later.
  WheelSlot slot;
  int level = 0;
  while (level < 8 && delay_jiffies >= (int64_t{63} << (3 * level))) ++level;
  slot.level = level;
  slot.granularity_jiffies = int64_t{1} << (3 * level);
  slot.max_late_ms = jiffies_to_msecs(slot.granularity_jiffies, hz);
  return slot;
}

double tcp_model_timeout_ms(int boundary, double rto_base_ms, double rto_max_ms, int hz) {
  const int64_t base = msecs_to_jiffies(rto_base_ms, hz);
  const int64_t max = msecs_to_jiffies(rto_max_ms, hz);
  if (base <= 0) return 0;
  int thresh = 0;  // ilog2(rto_max / rto_base)
  for (int64_t q = max / base; q > 1; q >>= 1) ++thresh;
  int64_t timeout;
  if (boundary <= thresh)
    timeout = ((int64_t{2} << boundary) - 1) * base;
  else
    timeout = ((int64_t{2} << thresh) - 1) * base + static_cast<int64_t>(boundary - thresh) * max;
  return jiffies_to_msecs(timeout, hz);
}

int64_t rto_jiffies(double srtt_ms, double rttvar_ms, double rto_min_ms, int hz) {
  // tcp_rtt_estimator(): rttvar_us = max(mdev_max_us, tcp_rto_min_us); __tcp_set_rto():
  // usecs_to_jiffies((srtt_us >> 3) + rttvar_us), which rounds up.
  return msecs_to_jiffies(srtt_ms + std::max(rttvar_ms, rto_min_ms), hz);
}

RetransmitDeath retransmit_until_death(int64_t rto_j, double rto_max_ms, double budget_ms, bool clamp, int hz) {
  RetransmitDeath out;
  const int64_t rto_max_j = msecs_to_jiffies(rto_max_ms, hz);
  int64_t rto = std::min(rto_j * 2, rto_max_j);  // R1's out_reset_timer: icsk_rto <<= 1
  double t = 0, t_max = 0;
  bool min_found = false;
  out.retransmissions = 1;
  for (int guard = 0; guard < 10000; ++guard) {
    int64_t delay = rto;
    if (clamp) {  // tcp_clamp_rto_to_user_timeout(): min(rto, remaining), 1 jiffy when passed
      const double remaining = budget_ms - t;
      delay = remaining <= 0 ? 1 : std::min(rto, msecs_to_jiffies(remaining, hz));
    }
    t += jiffies_to_msecs(delay, hz);
    t_max += jiffies_to_msecs(delay, hz) + timer_wheel_slot(delay, hz).max_late_ms;
    out.expiries_ms.push_back(t);
    if (!min_found && t_max >= budget_ms) {
      min_found = true;
      out.death_min_ms = std::max(t, budget_ms);
    }
    if (t >= budget_ms) {  // retransmits_timed_out(): now - retrans_stamp >= timeout
      out.death_ms = t;
      out.death_max_ms = t_max;
      return out;
    }
    ++out.retransmissions;
    rto = std::min(rto * 2, rto_max_j);
  }
  out.death_ms = out.death_max_ms = t;
  return out;
}

SynDeath syn_until_death(int retries, int linear, double init_rto_ms, double rto_max_ms,
                         std::optional<double> user_timeout_ms, int hz) {
  SynDeath out;
  const int64_t rto_max_j = msecs_to_jiffies(rto_max_ms, hz);
  int64_t rto = msecs_to_jiffies(init_rto_ms, hz);
  out.budget_ms = user_timeout_ms ? *user_timeout_ms : tcp_model_timeout_ms(retries, init_rto_ms, rto_max_ms, hz);
  const int max_retransmits = retries + linear;  // tcp_write_timeout(): SYN_SENT adds the linear ones
  double t = 0, t_max = 0;
  int retrans = 0, total_rto = 0;
  out.syn_times_ms.push_back(0);
  for (int guard = 0; guard < 10000; ++guard) {
    int64_t delay = rto;
    if (user_timeout_ms) {
      const double remaining = *user_timeout_ms - t;
      delay = remaining <= 0 ? 1 : std::min(rto, msecs_to_jiffies(remaining, hz));
    }
    t += jiffies_to_msecs(delay, hz);
    t_max += jiffies_to_msecs(delay, hz) + timer_wheel_slot(delay, hz).max_late_ms;
    const bool by_count = retrans >= max_retransmits;
    const bool by_time = retrans > 0 && t >= out.budget_ms;  // retransmits_timed_out() needs one
    if (by_count || by_time) {
      out.death_ms = t;
      out.death_max_ms = t_max;
      out.retransmissions = retrans;
      out.by_count = by_count && !by_time;
      return out;
    }
    ++retrans;
    ++total_rto;
    out.syn_times_ms.push_back(t);
    // tcp_retransmit_timer(): exponential backoff unless SYN_SENT and total_rto <= linear.
    if (total_rto > linear) rto = std::min(rto * 2, rto_max_j);
  }
  out.death_ms = out.death_max_ms = t;
  out.retransmissions = retrans;
  return out;
}

KeepaliveDeath keepalive_until_death(double idle_ms, double intvl_ms, int count,
                                     std::optional<double> user_timeout_ms) {
  KeepaliveDeath out;
  // Firing m (m >= 1) comes at idle + (m - 1) * intvl after the last answer, with m - 1
  // probes out. Without a user timeout it dies when probes_out >= count; with one, when
  // elapsed >= user timeout and probes_out > 0 (tcp_keepalive_timer).
  int m;
  if (user_timeout_ms) {
    const double extra = *user_timeout_ms - idle_ms;
    int probes = intvl_ms > 0 ? static_cast<int>(std::ceil(extra / intvl_ms - 1e-9)) : 1;
    probes = std::max(1, probes);
    m = probes + 1;
    out.by_user_timeout = true;
  } else {
    m = std::max(0, count) + 1;
  }
  out.probes = m - 1;
  out.timers = m;
  out.death_after_answer_ms = idle_ms + (m - 1) * intvl_ms;
  return out;
}

}  // namespace kernel

namespace {

using kernel::jiffies_to_msecs;
using kernel::msecs_to_jiffies;
using kernel::timer_wheel_slot;

constexpr double kTcpRtoMinMs = 200;          // TCP_RTO_MIN (HZ / 5), include/net/tcp.h
constexpr double kTcpTimeoutInitMs = 1000;    // TCP_TIMEOUT_INIT (1 * HZ), include/net/tcp.h
constexpr double kTcpTimeWaitMs = 60000;      // TCP_TIMEWAIT_LEN (60 * HZ), include/net/tcp.h
constexpr double kTcpTimeoutMinUsMs = 2;      // TCP_TIMEOUT_MIN_US (2 ms), include/net/tcp.h
constexpr double kStreamTickMs = 10;          // agent/client.cpp kStreamTick: one write per 10 ms
constexpr double kAssumedSrttMs = 0.05;       // a veth between two namespaces (~50 us)
constexpr double kCensusResolutionMs = 1000;  // docs/scenarios.md: the census backs off to 1 s
constexpr double kExitAllowanceMs = 20;       // SIGKILL -> exit -> close(): a process, not a timer

std::string fmt(double v) {
  char buf[64];
  if (std::fabs(v - std::round(v)) < 1e-9)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string fmt_ms(double ms) {
  if (std::fabs(ms) >= 10000) return fmt(ms / 1000.0) + " s";
  return fmt(ms) + " ms";
}

std::vector<long long> parse_ints(const std::string& s) {
  std::vector<long long> out;
  std::istringstream in(s);
  long long v;
  while (in >> v) out.push_back(v);
  return out;
}

struct Candidate {
  Model model;
  double order = 0;  // when it fires (nominal), for "earliest wins"
};

class Builder {
 public:
  Builder(const Scenario& s, const KernelEnvironment& env, const MeasuredInputs& m)
      : s_(s), env_(env), m_(m), hz_(env.hz > 0 ? env.hz : 250), jiffy_ms_(1000.0 / hz_) {}

  // A sysctl of `host`: the scenario's value, else the caller's kernel default, else 6.18's.
  ModelInput sysctl(const std::string& host, const std::string& key) const {
    const std::string full = "net.ipv4." + key;
    if (const HostSpec* h = s_.host(host))
      for (const auto& [k, v] : h->sysctl)
        if (k == full) return text_input(v, "sysctl", full + " (scenario, host " + host + ")");
    if (auto it = env_.sysctl.find(full); it != env_.sysctl.end())
      return text_input(it->second, "kernel default", full + " (fresh namespace)");
    static const KernelEnvironment fallback = KernelEnvironment::linux_defaults();
    auto it = fallback.sysctl.find(full);
    return text_input(it != fallback.sysctl.end() ? it->second : "0", "assumed",
                      full + " (Linux 6.18 default; not read from this kernel)");
  }
  std::string sysctl_text(const std::string& host, const std::string& key) const {
    const std::string full = "net.ipv4." + key;
    if (const HostSpec* h = s_.host(host))
      for (const auto& [k, v] : h->sysctl)
        if (k == full) return v;
    if (auto it = env_.sysctl.find(full); it != env_.sysctl.end()) return it->second;
    static const KernelEnvironment fallback = KernelEnvironment::linux_defaults();
    auto it = fallback.sysctl.find(full);
    return it != fallback.sysctl.end() ? it->second : "";
  }

  int hz() const { return hz_; }
  double jiffy() const { return jiffy_ms_; }
  const Scenario& scenario() const { return s_; }
  const MeasuredInputs& measured() const { return m_; }

  static ModelInput text_input(const std::string& v, const std::string& origin, const std::string& detail) {
    ModelInput in;
    auto ints = parse_ints(v);
    in.value = ints.empty() ? 0 : static_cast<double>(ints.front());
    in.origin = origin;
    in.detail = detail;
    return in;
  }
  static ModelInput input(double v, const std::string& unit, const std::string& origin, const std::string& detail) {
    return ModelInput{v, unit, origin, detail};
  }

 private:
  const Scenario& s_;
  const KernelEnvironment& env_;
  const MeasuredInputs& m_;
  int hz_;
  double jiffy_ms_;
};

// What the client socket asks for, named or raw (Envoy/Istio form), with where it came from.
struct ClientOptions {
  std::optional<double> user_timeout_ms;
  std::string user_timeout_detail;
  bool keepalive = false;
  std::optional<double> ka_idle_s, ka_intvl_s;
  std::optional<int> ka_count;
  std::string ka_detail;
  std::optional<int> syn_count;
  std::optional<double> rcvtimeo_ms, sndtimeo_ms;
  bool nodelay = false;
  std::optional<double> rto_max_ms, rto_min_ms;
  std::optional<int> linger2_s;
  bool linger_zero = false;
};

ClientOptions client_options(const SocketOptions& o) {
  ClientOptions c;
  if (o.tcp_user_timeout && o.tcp_user_timeout->count() > 0) {
    c.user_timeout_ms = static_cast<double>(o.tcp_user_timeout->count()) / 1e6;
    c.user_timeout_detail = "TCP_USER_TIMEOUT (socket option tcp_user_timeout)";
  }
  if (o.keepalive && o.keepalive->enabled) {
    c.keepalive = true;
    c.ka_detail = "SO_KEEPALIVE";
    if (o.keepalive->idle.count() > 0) c.ka_idle_s = static_cast<double>(o.keepalive->idle.count());
    if (o.keepalive->interval.count() > 0) c.ka_intvl_s = static_cast<double>(o.keepalive->interval.count());
    if (o.keepalive->count > 0) c.ka_count = o.keepalive->count;
  }
  if (o.syn_count) c.syn_count = *o.syn_count;
  if (o.rcvtimeo && o.rcvtimeo->count() > 0) c.rcvtimeo_ms = static_cast<double>(o.rcvtimeo->count()) / 1e6;
  if (o.sndtimeo && o.sndtimeo->count() > 0) c.sndtimeo_ms = static_cast<double>(o.sndtimeo->count()) / 1e6;
  if (o.nodelay) c.nodelay = *o.nodelay;
  if (o.linger && *o.linger && o.linger->value().count() == 0) c.linger_zero = true;
  // include/uapi/linux/tcp.h and asm-generic/socket.h numbers.
  for (const auto& r : o.raw) {
    if (r.level == 6) {
      switch (r.name) {
        case 1:
          c.nodelay = r.int_value != 0;
          break;  // TCP_NODELAY
        case 4:
          c.ka_idle_s = r.int_value;
          break;  // TCP_KEEPIDLE
        case 5:
          c.ka_intvl_s = r.int_value;
          break;  // TCP_KEEPINTVL
        case 6:
          c.ka_count = r.int_value;
          break;  // TCP_KEEPCNT
        case 7:
          c.syn_count = r.int_value;
          break;  // TCP_SYNCNT
        case 8:
          c.linger2_s = r.int_value;
          break;  // TCP_LINGER2
        case 18:  // TCP_USER_TIMEOUT
          if (r.int_value > 0) {
            c.user_timeout_ms = r.int_value;
            c.user_timeout_detail = "TCP_USER_TIMEOUT (raw option level 6 name 18)";
          } else {
            c.user_timeout_ms.reset();
          }
          break;
        case 44:
          if (r.int_value > 0) c.rto_max_ms = r.int_value;
          break;  // TCP_RTO_MAX_MS
        case 45:
          if (r.int_value > 0) c.rto_min_ms = r.int_value / 1000.0;
          break;  // TCP_RTO_MIN_US
        default:
          break;
      }
    } else if (r.level == 1 && r.name == 9) {  // SOL_SOCKET / SO_KEEPALIVE
      c.keepalive = r.int_value != 0;
      c.ka_detail = "SO_KEEPALIVE (raw option level 1 name 9)";
    }
  }
  return c;
}

// The first fault by time, and the facts about it the rules need.
struct FaultFacts {
  const Fault* fault = nullptr;
  double at_ms = 0;
  std::optional<double> heal_ms;        // after the first fault
  bool silent = false;                  // the peer stops answering (blackhole, crash, drop 1.0, link-down)
  bool connect_phase = false;           // installed before the workload (at 0s) or only new connections
  bool established_unaffected = false;  // matches SYNs / new connections only
};

FaultFacts first_fault(const Scenario& s) {
  FaultFacts f;
  for (const auto& fault : s.faults)
    if (!f.fault || fault.at < f.fault->at) f.fault = &fault;
  if (!f.fault) return f;
  f.at_ms = static_cast<double>(f.fault->at.count()) / 1e6;
  if (f.fault->until) f.heal_ms = static_cast<double>(f.fault->until->count()) / 1e6 - f.at_ms;
  const FaultKind k = f.fault->kind;
  f.silent = k == FaultKind::blackhole || k == FaultKind::crash || k == FaultKind::link_down || (k == FaultKind::drop && f.fault->probability >= 1.0);
  const bool only_new = (f.fault->match.tcp_flags && *f.fault->match.tcp_flags == TcpFlag::syn) ||
                        (f.fault->match.state && *f.fault->match.state == ConnState::new_);
  f.connect_phase = f.fault->at.count() == 0 || only_new;
  f.established_unaffected = only_new;
  return f;
}

class Predictor {
 public:
  Predictor(const Scenario& s, const KernelEnvironment& env, const MeasuredInputs& m)
      : b_(s, env, m), s_(s), m_(m), opt_(client_options(s.client.socket)), ff_(first_fault(s)) {
    client_ = s.client.on;
    rto_min_ms_ = opt_.rto_min_ms ? *opt_.rto_min_ms : b_.sysctl(client_, "tcp_rto_min_us").value / 1000.0;
    rto_max_ms_ = opt_.rto_max_ms ? *opt_.rto_max_ms : b_.sysctl(client_, "tcp_rto_max_ms").value;
    if (rto_min_ms_ <= 0) rto_min_ms_ = kTcpRtoMinMs;
    if (rto_max_ms_ <= 0) rto_max_ms_ = 120000;
    srtt_ms_ = m.srtt_ms ? *m.srtt_ms : kAssumedSrttMs;
    rttvar_ms_ = m.rttvar_ms ? *m.rttvar_ms : 0;
    rto_j_ = m.base_rto_ms ? msecs_to_jiffies(*m.base_rto_ms, b_.hz())
                           : kernel::rto_jiffies(srtt_ms_, rttvar_ms_, rto_min_ms_, b_.hz());
    deadline_ms_ = static_cast<double>(s.deadline.count()) / 1e6;
  }

  Model detection() {
    std::vector<Candidate> cands;
    const WorkloadKind kind = s_.client.workload.kind;
    if (kind == WorkloadKind::command)
      return unmodelled("a user command's own timeouts (e.g. curl --max-time) are not kernel rules");

    if (!ff_.fault) {
      no_fault(cands);
    } else {
      const FaultKind fk = ff_.fault->kind;
      const bool before_workload = ff_.fault->at.count() == 0;
      if (ff_.fault->on == client_ && (fk == FaultKind::kill || fk == FaultKind::pause || fk == FaultKind::crash))
        return unmodelled("the fault stops the client itself");
      if (fk == FaultKind::drop && ff_.fault->probability < 1.0)
        return unmodelled("random loss (probability " + fmt(ff_.fault->probability) +
                          "): when a connection gives up depends on which segments are lost");
      if (kind == WorkloadKind::stream && s_.server.behavior == ServerBehavior::stall && fk != FaultKind::pause)
        return unmodelled("a fault on a zero-window connection: unanswered window probes are not modelled");
      if (before_workload && (ff_.silent || fk == FaultKind::reject)) {
        connect_phase(cands);
      } else if (ff_.established_unaffected && (kind == WorkloadKind::idle || kind == WorkloadKind::stream)) {
        // the established connection never meets a fault on SYNs / new connections
      } else if (ff_.silent) {
        silent_peer(cands);
        recovered_after_heal(cands);
      } else if (fk == FaultKind::reject) {
        reject(cands);
      } else if (fk == FaultKind::kill) {
        killed_peer(cands);
      } else if (fk == FaultKind::pause) {
        paused_peer(cands);
      }
    }
    app_timers(cands);
    return choose(cands);
  }

  std::vector<Model> lifetimes() {
    std::vector<Model> out;
    const auto& w = s_.client.workload;
    if (w.kind == WorkloadKind::probe) {
      const bool peer_closes = s_.server.behavior == ServerBehavior::echo || s_.server.behavior == ServerBehavior::respond;
      if (opt_.linger_zero) {
        // SO_LINGER {1, 0}: tcp_close() sends RST, no TIME_WAIT (net/ipv4/tcp.c: __tcp_close).
      } else if (peer_closes) {
        const bool server_closes_first =
            !w.request.empty() && s_.server.behavior == ServerBehavior::respond && s_.server.close == CloseMode::after_response;
        out.push_back(time_wait(server_closes_first ? s_.server.on : client_));
      } else if (s_.server.behavior == ServerBehavior::hold || s_.server.behavior == ServerBehavior::sink || s_.server.behavior == ServerBehavior::stall) {
        out.push_back(fin_wait2());
      }
      if (auto p = port_exhaustion()) out.push_back(*p);
    }
    if (ff_.fault && ff_.fault->kind != FaultKind::reject && ff_.silent && ff_.connect_phase && ff_.fault->direction == Direction::out &&
        ff_.fault->on == s_.server.on)
      out.push_back(syn_recv());
    return out;
  }

 private:
  // ---- pieces shared by the rules ----------------------------------------------------------

  double rto_ms() const { return jiffies_to_msecs(rto_j_, b_.hz()); }

  void add_rto_inputs(Model& m) const {
    if (m_.base_rto_ms) {
      m.inputs["rto"] = Builder::input(rto_ms(), "ms", "measured", "tcp_info.tcpi_rto before the fault");
    } else {
      m.inputs["rto"] = Builder::input(rto_ms(), "ms", "kernel default",
                                       "srtt + max(rttvar, rto_min) rounded up to jiffies (__tcp_set_rto)");
      m.inputs["srtt"] = Builder::input(srtt_ms_, "ms", m_.srtt_ms ? "measured" : "assumed",
                                        m_.srtt_ms ? "tcp_info.tcpi_rtt" : "a veth between namespaces");
      m.inputs["rto_min"] =
          Builder::input(rto_min_ms_, "ms", opt_.rto_min_ms ? "socket" : b_.sysctl(client_, "tcp_rto_min_us").origin,
                         opt_.rto_min_ms ? "TCP_RTO_MIN_US" : "net.ipv4.tcp_rto_min_us");
    }
    m.inputs["rto_max"] =
        Builder::input(rto_max_ms_, "ms", opt_.rto_max_ms ? "socket" : b_.sysctl(client_, "tcp_rto_max_ms").origin,
                       opt_.rto_max_ms ? "TCP_RTO_MAX_MS" : "net.ipv4.tcp_rto_max_ms");
    m.inputs["hz"] = Builder::input(b_.hz(), "Hz", "kernel default", "CONFIG_HZ");
  }

  // When the head of the unacknowledged data is first retransmitted (tp->retrans_stamp),
  // after the first fault, for a sender that keeps writing. Returns {nominal, lo, hi}.
  struct Span {
    double nominal, lo, hi;
    std::string how;
  };

  Span first_retransmission_stream(Model& m) const {
    if (m_.first_retransmission_ms) {
      m.inputs["first_retransmission"] =
          Builder::input(*m_.first_retransmission_ms, "ms", "measured", "capture: first retransmission of the head");
      return {*m_.first_retransmission_ms, *m_.first_retransmission_ms, *m_.first_retransmission_ms + b_.jiffy(),
              "the measured first retransmission"};
    }
    const auto& w = s_.client.workload;
    const bool paced = w.bytes_per_second > 0;
    const double interval = paced ? kStreamTickMs : 0;
    const double chunk = paced ? w.bytes_per_second * kStreamTickMs / 1000.0 : 65536;
    const bool timestamps = b_.sysctl(client_, "tcp_timestamps").value != 0;
    const double mss = m_.mss ? *m_.mss : (timestamps ? 1448 : 1460);
    m.inputs["write_interval"] = Builder::input(interval, "ms", "harness", "agent/client.cpp kStreamTick");
    m.inputs["write_size"] = Builder::input(chunk, "bytes", "scenario", "client.workload.rate x 10 ms");
    m.inputs["mss"] = Builder::input(mss, "bytes", m_.mss ? "measured" : "assumed",
                                     m_.mss ? "tcp_info.tcpi_snd_mss" : "veth MTU 1500 (- 12 B timestamps option)");
    // tcp_schedule_loss_probe(): PTO = 2 * srtt + (one packet out ? rto_min : TCP_TIMEOUT_MIN_US),
    // never after the RTO. The probe (tcp_send_loss_probe) re-arms a full RTO from itself.
    const int64_t pto_multi = std::min(msecs_to_jiffies(2 * srtt_ms_ + kTcpTimeoutMinUsMs, b_.hz()), rto_j_);
    const int64_t pto_single = std::min(msecs_to_jiffies(2 * srtt_ms_ + rto_min_ms_, b_.hz()), rto_j_);
    // When does a second packet leave after the head (packets_out >= 2 gives the short PTO)?
    // Nagle (tcp_nagle_check with Minshall's rule) holds a small segment while an earlier
    // small one is unacknowledged; full segments pass. So with writes smaller than the MSS,
    // the second packet leaves when ceil(mss / write) writes have queued a full segment.
    double second_after_head;
    if (!paced || chunk > mss)
      second_after_head = 0;
    else if (opt_.nodelay)
      second_after_head = interval;
    else
      second_after_head = std::ceil(mss / chunk - 1e-9) * interval;
    const double pto_single_ms = jiffies_to_msecs(pto_single, b_.hz());
    const double pto_multi_ms = jiffies_to_msecs(pto_multi, b_.hz());
    double tlp_after_head, tlp_late;
    std::string how;
    if (second_after_head + pto_multi_ms < pto_single_ms) {
      tlp_after_head = second_after_head + pto_multi_ms;
      tlp_late = b_.jiffy();
      how = "a tail loss probe " + fmt_ms(pto_multi_ms) + " after the second packet in flight (" +
            fmt_ms(second_after_head) + " after the head), then one RTO";
    } else {
      tlp_after_head = pto_single_ms;
      tlp_late = timer_wheel_slot(pto_single, b_.hz()).max_late_ms;
      how =
          "a tail loss probe ~one RTO after the lone head segment (2*srtt + rto_min, capped by the RTO), then one RTO";
    }
    const double rto = rto_ms();
    const double rto_late = timer_wheel_slot(rto_j_, b_.hz()).max_late_ms;
    m.inputs["tlp_after_head"] = Builder::input(tlp_after_head, "ms", "kernel default",
                                                "tcp_schedule_loss_probe (PTO " + fmt_ms(pto_multi_ms) +
                                                    " with >= 2 packets out, " + fmt_ms(pto_single_ms) + " with one)");
    // The head is the first segment sent after the fault: within one write interval.
    const double lo = tlp_after_head + rto;
    const double hi = interval + tlp_after_head + tlp_late + rto + rto_late;
    return {interval / 2 + tlp_after_head + rto, lo, hi, how};
  }

  // The retransmission chain of a silent peer once R1 is known: death by the user timeout
  // or tcp_retries2. Fills model fields; returns the death relative to R1.
  kernel::RetransmitDeath retransmission_chain(Model& m, std::string& limit) const {
    if (opt_.user_timeout_ms) {
      m.inputs["tcp_user_timeout"] = Builder::input(*opt_.user_timeout_ms, "ms", "socket", opt_.user_timeout_detail);
      ModelInput r2 = b_.sysctl(client_, "tcp_retries2");
      r2.unit = "count";
      r2.detail += "; unused: tcp_write_timeout passes the user timeout instead of its budget";
      m.inputs["tcp_retries2"] = r2;
      limit = "TCP_USER_TIMEOUT " + fmt_ms(*opt_.user_timeout_ms);
      m.mechanism = "tcp_user_timeout";
      return kernel::retransmit_until_death(rto_j_, rto_max_ms_, *opt_.user_timeout_ms, true, b_.hz());
    }
    const ModelInput r2 = b_.sysctl(client_, "tcp_retries2");
    const int n = static_cast<int>(r2.value);
    m.inputs["tcp_retries2"] = Builder::input(n, "count", r2.origin, r2.detail);
    m.inputs["tcp_retries2"].unit = "count";
    m.inputs["TCP_RTO_MIN"] = Builder::input(kTcpRtoMinMs, "ms", "kernel constant",
                                             "include/net/tcp.h; tcp_model_timeout's rto_base, whatever the real RTO");
    const double budget = kernel::tcp_model_timeout_ms(n, kTcpRtoMinMs, rto_max_ms_, b_.hz());
    m.inputs["retries2_budget"] =
        Builder::input(budget, "ms", "kernel default", "tcp_model_timeout(tcp_retries2, TCP_RTO_MIN)");
    limit = "tcp_retries2 " + std::to_string(n) + " (budget tcp_model_timeout = " + fmt_ms(budget) + ")";
    m.mechanism = "tcp_retries2";
    auto d = kernel::retransmit_until_death(rto_j_, rto_max_ms_, budget, false, b_.hz());
    m.notes.push_back("ip-sysctl's model for tcp_retries2 " + std::to_string(n) + ": killed " + fmt_ms(budget) +
                      " after the first transmission; the kernel checks that budget from the first retransmission "
                      "(retrans_stamp) at RTO expiries only, so it dies at the first expiry at least " +
                      fmt_ms(budget) + " after R1: " + fmt_ms(d.death_ms) + " after R1, " +
                      std::to_string(d.retransmissions) + " retransmissions");
    return d;
  }

  // ---- rules --------------------------------------------------------------------------------

  void silent_peer(std::vector<Candidate>& cands) {
    const WorkloadKind kind = s_.client.workload.kind;
    const bool comes_back_empty = ff_.fault->kind == FaultKind::crash && ff_.heal_ms;
    if (kind == WorkloadKind::stream) {
      if (s_.server.behavior == ServerBehavior::stall) {
        zero_window(cands, 0);
        return;
      }
      Model m = base("detection");
      add_rto_inputs(m);
      Span r1 = first_retransmission_stream(m);
      std::string limit;
      auto d = retransmission_chain(m, limit);
      m.error = "ETIMEDOUT";
      m.ms = r1.nominal + d.death_ms;
      m.lo_ms = r1.lo + d.death_min_ms;
      m.hi_ms = r1.hi + d.death_max_ms;
      m.formula = "first retransmission (" + r1.how + " = " + fmt_ms(r1.nominal) + ") + " + limit +
                  " counted from it: " + fmt_ms(d.death_ms) + " after it";
      m.window = "the head is the first write after the fault (0-" + fmt(kStreamTickMs) +
                 " ms); each RTO timer may fire up to its timer-wheel granularity late (accumulating)";
      m.source = opt_.user_timeout_ms
                     ? "net/ipv4/tcp_timer.c: tcp_write_timeout -> retransmits_timed_out(user_timeout), "
                       "tcp_clamp_rto_to_user_timeout; net/ipv4/tcp_output.c: tcp_retransmit_skb (retrans_stamp), "
                       "tcp_schedule_loss_probe"
                     : "net/ipv4/tcp_timer.c: tcp_write_timeout -> retransmits_timed_out -> tcp_model_timeout; "
                       "tcp_retransmit_timer (backoff); net/ipv4/tcp_output.c: tcp_retransmit_skb (retrans_stamp); "
                       "Documentation/networking/ip-sysctl.rst tcp_retries2";
      m.notes.push_back(
          "keepalive does not run while data is unacknowledged (tcp_keepalive_timer: "
          "packets_out || !tcp_write_queue_empty -> resched)");
      if (ff_.fault->kind == FaultKind::link_down)
        m.notes.push_back(
            "assumed: the lost carrier drops packets beyond the client; a drop in the client's own "
            "output path would make tcp_retransmit_timer retry every TCP_RESOURCE_PROBE_INTERVAL "
            "(500 ms) without backoff");
      if (comes_back_empty) rst_after_heal(m, r1, d, cands);
      cands.push_back({m, *m.ms});
      return;
    }
    if (kind == WorkloadKind::request) {
      Model m = base("detection");
      add_rto_inputs(m);
      // One request outstanding per connection (packets_out == 1): the tail loss probe comes
      // one PTO (2*srtt + rto_min, capped by the RTO) after it and retransmits it; R1 one RTO later.
      const int64_t pto_single = std::min(msecs_to_jiffies(2 * srtt_ms_ + rto_min_ms_, b_.hz()), rto_j_);
      const double pto = jiffies_to_msecs(pto_single, b_.hz());
      const double spacing = s_.client.workload.per_second > 0 ? 1000.0 / s_.client.workload.per_second : 0;
      Span r1{pto + rto_ms(), pto + rto_ms(),
              spacing + pto + rto_ms() + timer_wheel_slot(pto_single, b_.hz()).max_late_ms +
                  timer_wheel_slot(rto_j_, b_.hz()).max_late_ms,
              "a tail loss probe " + fmt_ms(pto) + " after the outstanding request, then one RTO"};
      if (m_.first_retransmission_ms)
        r1 = {*m_.first_retransmission_ms, *m_.first_retransmission_ms, *m_.first_retransmission_ms + b_.jiffy(),
              "the measured first retransmission"};
      m.inputs["request_spacing"] = Builder::input(spacing, "ms", "scenario", "1 / client.workload.rate");
      std::string limit;
      auto d = retransmission_chain(m, limit);
      m.error = "ETIMEDOUT";
      m.ms = r1.nominal + d.death_ms;
      m.lo_ms = r1.lo + d.death_min_ms;
      m.hi_ms = r1.hi + d.death_max_ms;
      m.formula = "first retransmission (" + r1.how + " = " + fmt_ms(r1.nominal) + ") + " + limit + ": " +
                  fmt_ms(d.death_ms) + " after it";
      m.window = "requests in flight at the fault were sent up to one request spacing apart; timer-wheel lateness";
      m.source =
          "net/ipv4/tcp_timer.c: tcp_write_timeout, retransmits_timed_out; net/ipv4/tcp_output.c: "
          "tcp_schedule_loss_probe, tcp_send_loss_probe";
      if (comes_back_empty) rst_after_heal(m, r1, d, cands, pto);
      cands.push_back({m, *m.ms});
      return;
    }
    if (kind == WorkloadKind::idle) {
      keepalive(cands, /*rst_on_probe=*/false);
      return;
    }
    if (kind == WorkloadKind::probe) {
      // The probes after the fault meet it at connect time.
      connect_phase(cands, s_.client.workload.per_second > 0 ? 1000.0 / s_.client.workload.per_second : 0);
      return;
    }
  }

  // A blackhole (or a crash that does not come back empty) healed before the kernel gave
  // up: the next retransmission or probe after the heal is answered and the connection lives.
  void recovered_after_heal(std::vector<Candidate>& cands) const {
    if (!ff_.heal_ms || ff_.fault->kind == FaultKind::crash) return;
    for (auto& c : cands) {
      if (!c.model.ms || *c.model.ms <= *ff_.heal_ms) continue;
      Model u = undetected_from(c.model, "the fault heals at " + fmt_ms(*ff_.heal_ms) + ", before " +
                                             c.model.mechanism + " would end it (" + fmt_ms(*c.model.ms) +
                                             "): the next retransmission is answered");
      u.would_fire_ms.reset();
      u.would_be_mechanism.clear();
      c.model = u;
      c.order = 1e18;
    }
  }

  // A crashed host that comes back empty answers the first segment after the heal with a RST.
  void rst_after_heal(const Model& dying, const Span& r1, const kernel::RetransmitDeath& d,
                      std::vector<Candidate>& cands, double tlp_ms = -1) {
    const double heal = *ff_.heal_ms;
    // Transmissions after the fault: the TLP, R1, then R1 + each expiry (but the last, death).
    std::vector<std::pair<double, double>> tx;  // nominal, max
    if (tlp_ms >= 0) tx.push_back({tlp_ms, tlp_ms + b_.jiffy()});
    tx.push_back({r1.nominal, r1.hi});
    double late = 0;
    for (size_t i = 0; i + 1 < d.expiries_ms.size(); ++i) {
      const double delay = d.expiries_ms[i] - (i ? d.expiries_ms[i - 1] : 0);
      late += timer_wheel_slot(msecs_to_jiffies(delay, b_.hz()), b_.hz()).max_late_ms;
      tx.push_back({r1.nominal + d.expiries_ms[i], r1.hi + d.expiries_ms[i] + late});
    }
    for (const auto& [t, t_max] : tx) {
      if (t < heal) continue;
      if (dying.ms && t >= *dying.ms) return;
      Model m = dying;
      m.mechanism = "rst";
      m.error = "ECONNRESET";
      m.ms = t;
      m.lo_ms = std::max(heal, t - (r1.nominal - r1.lo));
      m.hi_ms = t_max;
      m.inputs["heal"] = Builder::input(heal, "ms", "scenario", "faults[].until - at (the host comes back empty)");
      m.formula = "the first retransmission after the host came back (" + fmt_ms(heal) +
                  " after the fault) meets a RST: retransmission at " + fmt_ms(t) + " (TLP/RTO backoff from the fault)";
      m.source =
          "net/ipv4/tcp_input.c: tcp_validate_incoming -> tcp_reset (ECONNRESET); net/ipv4/tcp_timer.c: "
          "tcp_retransmit_timer (backoff)";
      m.window =
          "the outstanding segment was sent up to one write/request spacing after the fault; "
          "timer-wheel lateness of every RTO before it";
      cands.push_back({m, t});
      return;
    }
  }

  void keepalive(std::vector<Candidate>& cands, bool rst_on_probe) {
    if (!opt_.keepalive) return;
    Model m = base("detection");
    const ModelInput idle_in = opt_.ka_idle_s ? Builder::input(*opt_.ka_idle_s * 1000, "ms", "socket", "TCP_KEEPIDLE")
                                              : scaled(b_.sysctl(client_, "tcp_keepalive_time"), 1000, "ms");
    const ModelInput intvl_in = opt_.ka_intvl_s
                                    ? Builder::input(*opt_.ka_intvl_s * 1000, "ms", "socket", "TCP_KEEPINTVL")
                                    : scaled(b_.sysctl(client_, "tcp_keepalive_intvl"), 1000, "ms");
    ModelInput cnt_in = opt_.ka_count ? Builder::input(*opt_.ka_count, "count", "socket", "TCP_KEEPCNT")
                                      : b_.sysctl(client_, "tcp_keepalive_probes");
    cnt_in.unit = "count";
    const double idle = idle_in.value, intvl = intvl_in.value;
    const int cnt = static_cast<int>(cnt_in.value);
    m.inputs["keepalive_idle"] = idle_in;
    m.inputs["keepalive_intvl"] = intvl_in;
    m.inputs["keepalive_count"] = cnt_in;
    m.inputs["hz"] = Builder::input(b_.hz(), "Hz", "kernel default", "CONFIG_HZ");
    // The last packet the peer answered, relative to the fault.
    double last_answer, last_answer_late = 0;
    std::string last_how;
    if (m_.last_answered_ms) {
      last_answer = *m_.last_answered_ms;
      last_how = "measured";
      m.inputs["last_answered"] =
          Builder::input(last_answer, "ms", "measured", "capture: last packet the peer answered");
    } else {
      // Idle connection: the handshake at ready, then answered probes every max(idle, intvl)
      // while the peer lives (tcp_keepalive_timer re-arms idle - elapsed after an answer).
      const double fault_at = m_.fault_after_ready_ms ? *m_.fault_after_ready_ms : ff_.at_ms;
      m.inputs["fault_after_ready"] =
          Builder::input(fault_at, "ms", m_.fault_after_ready_ms ? "measured" : "scenario", "faults[0].at");
      double l = 0;
      int answered = 0;
      const double period = std::max(idle, intvl);
      if (fault_at > idle) {
        answered = 1 + static_cast<int>(std::floor((fault_at - idle) / period - 1e-9));
        l = idle + (answered - 1) * period;
      }
      for (int i = 0; i < answered; ++i)
        last_answer_late += timer_wheel_slot(msecs_to_jiffies(i == 0 ? idle : period, b_.hz()), b_.hz()).max_late_ms;
      if (answered && l + last_answer_late >= fault_at) {
        // Late timers may have pushed the last probe past the fault: then it went unanswered.
        ka_lo_shift_ = period;
        m.notes.push_back("the probe at " + fmt_ms(l) +
                          " may come after the fault if its timers ran late; "
                          "then the last answer is one period earlier");
      }
      last_answer = l - fault_at;
      last_how = answered ? std::to_string(answered) + " answered probe(s) before the fault, the last at " + fmt_ms(l) +
                                " after ready"
                          : "the handshake at ready (no probe before the fault)";
      m.inputs["last_answered"] = Builder::input(last_answer, "ms", "kernel default", last_how);
    }
    std::optional<double> ut = opt_.user_timeout_ms;
    if (ut) m.inputs["tcp_user_timeout"] = Builder::input(*ut, "ms", "socket", opt_.user_timeout_detail);
    const auto k = kernel::keepalive_until_death(idle, intvl, cnt, ut);
    double late = timer_wheel_slot(msecs_to_jiffies(idle, b_.hz()), b_.hz()).max_late_ms;
    late += (k.timers - 1) * timer_wheel_slot(msecs_to_jiffies(intvl, b_.hz()), b_.hz()).max_late_ms;
    const double death = last_answer + k.death_after_answer_ms;
    m.error = "ETIMEDOUT";
    m.mechanism = k.by_user_timeout ? "tcp_user_timeout" : "keepalive";
    if (rst_on_probe) {
      // The first probe after the fault is answered by a RST.
      double first_probe = last_answer + idle;
      while (first_probe < 0) first_probe += intvl;
      m.mechanism = "rst";
      m.error = "ECONNRESET";
      m.ms = first_probe;
      m.lo_ms = first_probe;
      m.hi_ms = first_probe + late;
      m.formula = "the first keepalive probe after the fault (last answer " + fmt_ms(last_answer) + " + idle " +
                  fmt_ms(idle) + ") is answered by a RST";
      m.source = "net/ipv4/tcp_timer.c: tcp_keepalive_timer; net/ipv4/tcp_input.c: tcp_reset";
      m.window = "timer-wheel lateness of the keepalive timers";
      cands.push_back({m, first_probe});
      return;
    }
    if (k.by_user_timeout)
      m.formula = "last answer (" + fmt_ms(last_answer) +
                  ") + keepalive: the first timer with elapsed >= TCP_USER_TIMEOUT " + fmt_ms(*ut) + " = idle " +
                  fmt_ms(idle) + " + " + std::to_string(k.probes) + " x intvl " + fmt_ms(intvl) + " (" +
                  std::to_string(k.probes) + " unanswered probes; TCP_KEEPCNT " + std::to_string(cnt) +
                  " ignored once a user timeout is set)";
    else
      m.formula = "last answer (" + fmt_ms(last_answer) + ") + idle " + fmt_ms(idle) + " + count " +
                  std::to_string(cnt) + " x intvl " + fmt_ms(intvl) + " = " + fmt_ms(k.death_after_answer_ms) +
                  " after the last answer";
    m.source =
        "net/ipv4/tcp_timer.c: tcp_keepalive_timer (keepalive_time_elapsed, keepalive_probes, "
        "icsk_user_timeout); include/net/tcp.h: keepalive_time_when/intvl_when";
    m.window = "the keepalive timer re-arms from each firing, so each may add its timer-wheel granularity (" +
               fmt(late + last_answer_late) + " ms in all)";
    m.lo_ms = death - ka_lo_shift_;
    m.hi_ms = death + late + last_answer_late;
    if (death > deadline_ms_) {
      m.would_fire_ms = death;
      m.would_be_mechanism = m.mechanism;
      cands.push_back({undetected_from(m, "keepalive would end it " + fmt_ms(death) + " after the fault"), death});
      return;
    }
    m.ms = death;
    cands.push_back({m, death});
  }

  void zero_window(std::vector<Candidate>& cands, double window_closes_from) {
    Model m = base("detection");
    add_rto_inputs(m);
    const double base_ms = std::max(rto_ms(), kTcpRtoMinMs);  // tcp_probe0_base()
    if (!opt_.user_timeout_ms) {
      m.mechanism = "undetected";
      m.formula =
          "zero-window probes are ACKed (icsk_probes_out reset by every ACK), so tcp_retries2 never ends it; "
          "keepalive does not run with data queued; only TCP_USER_TIMEOUT would";
      m.source =
          "net/ipv4/tcp_timer.c: tcp_probe_timer, tcp_keepalive_timer; net/ipv4/tcp_input.c: tcp_ack "
          "(icsk_probes_out = 0), tcp_ack_probe";
      cands.push_back({m, 1e18});
      return;
    }
    const double ut = *opt_.user_timeout_ms;
    m.inputs["tcp_user_timeout"] = Builder::input(ut, "ms", "socket", opt_.user_timeout_detail);
    m.inputs["probe0_base"] =
        Builder::input(base_ms, "ms", "kernel default", "tcp_probe0_base: max(icsk_rto, TCP_RTO_MIN)");
    m.mechanism = "tcp_user_timeout";
    m.error = "ETIMEDOUT";
    m.source =
        "net/ipv4/tcp_timer.c: tcp_probe_timer (icsk_probes_tstamp, user timeout), "
        "tcp_clamp_probe0_to_user_timeout; net/ipv4/tcp_output.c: tcp_send_probe0, tcp_write_wakeup";
    const double clamp_late =
        timer_wheel_slot(msecs_to_jiffies(std::min(ut, base_ms * 8), b_.hz()), b_.hz()).max_late_ms;
    if (m_.first_window_probe_ms) {
      const double p = *m_.first_window_probe_ms;
      m.inputs["first_window_probe"] = Builder::input(p, "ms", "measured", "capture: first zero-window probe");
      m.ms = p + ut;
      m.lo_ms = p + ut;
      m.hi_ms = p + ut + clamp_late + b_.jiffy();
      m.formula = "first zero-window probe (" + fmt_ms(p) + ") + TCP_USER_TIMEOUT " + fmt_ms(ut);
      m.window = "the last probe timer is clamped to the user timeout and may fire one wheel granularity late";
    } else {
      // The window closes once the receiver's buffer is full; the first tcp_probe_timer
      // that finds nothing in flight stamps icsk_probes_tstamp, one probe0 base after the
      // ACK that closed the window. A small last window can first cost one more probe
      // timer (the sender fills it through tcp_write_wakeup, which resets the stamp).
      const std::string rmem_text = b_.sysctl_text(s_.server.on, "tcp_rmem");
      auto rmem = parse_ints(rmem_text);
      const double rcv_init = rmem.size() >= 2 ? static_cast<double>(rmem[1]) : 131072;
      const double rcv_max = rmem.size() >= 3 ? static_cast<double>(rmem[2]) : 6291456;
      const bool reader_was_active = ff_.fault && ff_.fault->kind == FaultKind::pause;
      double rcvbuf = reader_was_active ? rcv_max : rcv_init;
      if (s_.server.socket.rcvbuf) rcvbuf = 2.0 * *s_.server.socket.rcvbuf;  // SO_RCVBUF is doubled
      const double rate = s_.client.workload.bytes_per_second > 0 ? s_.client.workload.bytes_per_second : 1e9;
      const double fill = rcvbuf / rate * 1000.0;
      m.inputs["receive_buffer"] =
          Builder::input(rcvbuf, "bytes", "kernel default",
                         reader_was_active ? "net.ipv4.tcp_rmem max (autotuned while the reader read)"
                                           : "net.ipv4.tcp_rmem default (never read)");
      m.inputs["rate"] = Builder::input(rate, "bytes/s", "scenario", "client.workload.rate");
      m.ms = window_closes_from + base_ms + ut;
      m.lo_ms = window_closes_from + base_ms + ut;
      m.hi_ms = window_closes_from + fill + 2 * base_ms + ut + clamp_late + 2 * b_.jiffy();
      m.formula = "window closed (receive buffer " + fmt(rcvbuf) + " B at " + fmt(rate) + " B/s: <= " + fmt_ms(fill) +
                  ") + first zero-window probe one probe0 base (" + fmt_ms(base_ms) + ") later + TCP_USER_TIMEOUT " +
                  fmt_ms(ut) + " from that probe";
      m.window = "the window closes 0-" + fmt_ms(fill) +
                 " after the reader stops (buffer fill) and may cost one more probe timer when the last window is "
                 "small; the clamped last probe timer's wheel granularity";
      m.notes.push_back("without a captured first window probe the closing time is bounded, not known");
    }
    if (ff_.heal_ms && *m.ms > *ff_.heal_ms) {
      m.would_fire_ms = m.ms;
      m.would_be_mechanism = m.mechanism;
      cands.push_back(
          {undetected_from(m, "the reader resumes at " + fmt_ms(*ff_.heal_ms) + ", before the user timeout"), 1e18});
      return;
    }
    cands.push_back({m, *m.ms});
  }

  void connect_phase(std::vector<Candidate>& cands, double offset_ms = 0) {
    const FaultKind fk = ff_.fault->kind;
    Model m = base("detection");
    m.inputs["hz"] = Builder::input(b_.hz(), "Hz", "kernel default", "CONFIG_HZ");
    if (fk == FaultKind::reject) {
      const RejectWith with = ff_.fault->with;
      m.ms = offset_ms;
      m.lo_ms = 0;
      m.hi_ms = offset_ms + 2 * b_.jiffy();
      m.window = "one round trip";
      if (with == RejectWith::tcp_reset || with == RejectWith::icmp_port_unreachable) {
        m.mechanism = "refused";
        m.error = "ECONNREFUSED";
        m.formula = with == RejectWith::tcp_reset ? "RST to the SYN: connect() fails at once"
                                        : "ICMP port unreachable to the SYN: a hard error in SYN_SENT";
        m.source = with == RejectWith::tcp_reset
                       ? "net/ipv4/tcp_input.c: tcp_rcv_synsent_state_process -> tcp_reset (ECONNREFUSED)"
                       : "net/ipv4/tcp_ipv4.c: tcp_v4_err (SYN_SENT: sk_err, tcp_done); icmp_err_convert";
      } else {
        m.mechanism = "icmp";
        m.error = "EHOSTUNREACH";
        m.formula = "ICMP " + name_string(with) + " to the SYN: a hard error in SYN_SENT";
        m.source = "net/ipv4/tcp_ipv4.c: tcp_v4_err (SYN_SENT: sk_err, tcp_done); net/ipv4/icmp.c: icmp_err_convert";
      }
      cands.push_back({m, *m.ms});
      return;
    }
    if (!ff_.silent) return;
    const ModelInput retries_in = opt_.syn_count ? Builder::input(*opt_.syn_count, "count", "socket", "TCP_SYNCNT")
                                                 : b_.sysctl(client_, "tcp_syn_retries");
    ModelInput linear_in = b_.sysctl(client_, "tcp_syn_linear_timeouts");
    linear_in.unit = "count";
    const int retries = static_cast<int>(retries_in.value);
    const int linear = static_cast<int>(linear_in.value);
    m.inputs["syn_retries"] = retries_in;
    m.inputs["syn_retries"].unit = "count";
    m.inputs["tcp_syn_linear_timeouts"] = linear_in;
    m.inputs["TCP_TIMEOUT_INIT"] =
        Builder::input(kTcpTimeoutInitMs, "ms", "kernel constant", "include/net/tcp.h (tcp_timeout_init)");
    m.inputs["rto_max"] =
        Builder::input(rto_max_ms_, "ms", opt_.rto_max_ms ? "socket" : b_.sysctl(client_, "tcp_rto_max_ms").origin,
                       "net.ipv4.tcp_rto_max_ms");
    if (opt_.user_timeout_ms)
      m.inputs["tcp_user_timeout"] = Builder::input(*opt_.user_timeout_ms, "ms", "socket", opt_.user_timeout_detail);
    const auto d =
        kernel::syn_until_death(retries, linear, kTcpTimeoutInitMs, rto_max_ms_, opt_.user_timeout_ms, b_.hz());
    m.mechanism = opt_.user_timeout_ms ? "tcp_user_timeout" : "syn_retries";
    m.error = "ETIMEDOUT";
    std::string times;
    for (double t : d.syn_times_ms) times += (times.empty() ? "" : ", ") + fmt(t / 1000.0);
    m.formula =
        "SYNs at " + times + " s (RTO " + fmt_ms(kTcpTimeoutInitMs) + ", linear for the first " +
        std::to_string(linear) + " timeouts, then doubling); connect() fails at the first expiry where " +
        (d.by_count ? "icsk_retransmits >= " + std::to_string(retries) + " + " + std::to_string(linear)
                    : "the time since the first SYN >= " +
                          (opt_.user_timeout_ms ? "TCP_USER_TIMEOUT "
                                                : "tcp_model_timeout(" + std::to_string(retries) + ", 1 s) = ") +
                          fmt_ms(d.budget_ms)) +
        ": " + fmt_ms(d.death_ms);
    m.source =
        "net/ipv4/tcp_timer.c: tcp_write_timeout (SYN_SENT: max_retransmits = retries + "
        "tcp_syn_linear_timeouts; retransmits_timed_out with rto_base tcp_timeout_init), tcp_retransmit_timer "
        "(linear while total_rto <= tcp_syn_linear_timeouts); net/ipv4/tcp_output.c: tcp_connect (retrans_stamp)";
    m.notes.push_back(
        "tcp_syn_linear_timeouts raises the retransmission COUNT limit and keeps the first RTOs at 1 s, but the time "
        "budget retransmits_timed_out() also checks is still the exponential tcp_model_timeout(retries, 1 s) from the "
        "first SYN; whichever is reached first ends the connect: here the " +
        std::string(d.by_count ? "count" : "time budget") + " (" + std::to_string(d.retransmissions) +
        " retransmissions)");
    // tcp_connect stamps retrans_stamp with the first SYN: every SYN timer and the time budget
    // count from it. The capture says when it left; without a capture the client starts
    // somewhere after the fault (up to offset_ms for a paced workload, plus its start-up).
    const double origin = m_.first_syn_ms.value_or(offset_ms);  // when the first SYN left
    const double earliest = m_.first_syn_ms.value_or(0.0);      // the earliest it can have
    if (m_.first_syn_ms) {
      m.inputs["first_syn"] = Builder::input(origin, "ms", "measured", "capture: the connect's first SYN, after the fault");
      m.formula = "first SYN (" + fmt_ms(origin) + ") + " + m.formula;
    }
    m.ms = origin + d.death_ms;
    m.lo_ms = earliest + d.death_ms;
    m.hi_ms = origin + d.death_max_ms;
    m.window = std::string("the SYN timers' timer-wheel granularity (accumulating)") +
               (m_.first_syn_ms ? ", from the first SYN" : "; the client starts after the fault");
    if (s_.client.connect_timeout) {
      const double ct = static_cast<double>(s_.client.connect_timeout->count()) / 1e6;
      if (ct < d.death_ms) {
        m.inputs["connect_timeout"] = Builder::input(ct, "ms", "scenario", "client.connect_timeout");
        m.mechanism = "connect_timeout";
        m.error = "connect_timeout";
        m.formula =
            "client.connect_timeout " + fmt_ms(ct) + " (the kernel would give up at " + fmt_ms(d.death_ms) + ")";
        // The agent's timeout starts just before connect() sends the first SYN.
        m.ms = origin + ct;
        m.lo_ms = std::max(0.0, earliest - 1.0) + ct;
        m.hi_ms = origin + ct + hrtimer_slack(ct);
        m.window = "poll() timeout slack (hrtimer)";
        m.source = "fs/select.c: do_poll, select_estimate_accuracy";
      }
    }
    if (*m.ms > deadline_ms_) {
      m.would_fire_ms = m.ms;
      m.would_be_mechanism = m.mechanism;
      cands.push_back({undetected_from(m, m.mechanism + " would end it " + fmt_ms(*m.ms) + " after the fault"), *m.ms});
      return;
    }
    cands.push_back({m, *m.ms});
  }

  void reject(std::vector<Candidate>& cands) {
    const RejectWith with = ff_.fault->with;
    const WorkloadKind kind = s_.client.workload.kind;
    if (kind == WorkloadKind::probe) {
      connect_phase(cands);
      return;
    }
    if (with == RejectWith::tcp_reset) {
      if (kind == WorkloadKind::idle) {
        keepalive(cands, /*rst_on_probe=*/true);
        return;
      }
      Model m = base("detection");
      const double spacing = kind == WorkloadKind::stream                    ? kStreamTickMs
                             : s_.client.workload.per_second > 0 ? 1000.0 / s_.client.workload.per_second
                                                                 : 0;
      m.inputs["next_segment"] =
          Builder::input(spacing, "ms", kind == WorkloadKind::stream ? "harness" : "scenario",
                         kind == WorkloadKind::stream ? "agent/client.cpp kStreamTick" : "1 / client.workload.rate");
      m.mechanism = "rst";
      m.error = "ECONNRESET";
      m.ms = spacing / 2;
      m.lo_ms = 0;
      m.hi_ms = 2 * spacing + 2 * b_.jiffy();
      m.formula = "the next segment after the fault (within " + fmt_ms(spacing) + ") is answered by a RST";
      m.window = "up to one spacing until the next segment and one more until the next call reports it";
      m.source = "net/ipv4/tcp_input.c: tcp_validate_incoming -> tcp_reset (ECONNRESET; EPIPE afterwards)";
      cands.push_back({m, *m.ms});
      return;
    }
    // ICMP on an established connection is a soft error (tcp_v4_err: sk_err_soft unless
    // IP_RECVERR); the connection still ends by its timers, with that errno (tcp_write_err).
    std::vector<Candidate> inner;
    if (kind == WorkloadKind::idle)
      keepalive(inner, false);
    else
      silent_peer(inner);
    const std::string err = with == RejectWith::icmp_port_unreachable ? "ECONNREFUSED" : "EHOSTUNREACH";
    for (auto& c : inner) {
      if (!c.model.ms) {
        cands.push_back(c);
        continue;
      }
      c.model.notes.push_back("ends by " + c.model.mechanism + "; the ICMP soft error (" + err + ") becomes the errno");
      c.model.mechanism = "icmp";
      c.model.error = err;
      c.model.source +=
          "; net/ipv4/tcp_ipv4.c: tcp_v4_err (sk_err_soft), tcp_ld_RTO_revert; tcp_timer.c: tcp_write_err";
      if (with == RejectWith::icmp_host_unreachable && kind != WorkloadKind::idle) {
        // RFC 6069 (tcp_ld_RTO_revert): each host unreachable quoting the head undoes the
        // backoff, so retransmissions may come every base RTO and reach the budget sooner.
        c.model.lo_ms = std::min(c.model.lo_ms, rto_ms() + 2 * rto_ms());
        c.model.window += "; RFC 6069 backoff reverts (rate-limited ICMP) can end it sooner";
      }
      cands.push_back(c);
    }
  }

  void killed_peer(std::vector<Candidate>& cands) {
    Model m = base("detection");
    const WorkloadKind kind = s_.client.workload.kind;
    m.mechanism = "fin";
    m.error = "EOF";
    m.ms = 0;
    m.lo_ms = 0;
    m.hi_ms = kExitAllowanceMs + (kind == WorkloadKind::stream ? kStreamTickMs : 0);
    m.inputs["exit_allowance"] =
        Builder::input(kExitAllowanceMs, "ms", "assumed", "SIGKILL -> exit -> close (a process, not a timer)");
    m.formula =
        "the killed process's sockets are closed by its kernel: FIN (RST if it left unread data); the client reads EOF";
    m.window = "process teardown, stated as an allowance";
    m.source = "net/ipv4/tcp.c: __tcp_close (FIN, or RST with unread data); net/ipv4/tcp_input.c: tcp_fin";
    if (kind == WorkloadKind::probe) {
      m.mechanism = "refused";
      m.error = "ECONNREFUSED";
      m.formula = "the listener died with its process: the next probe's SYN meets a RST";
      m.source = "net/ipv4/tcp_ipv4.c: tcp_v4_rcv (no socket) -> tcp_v4_send_reset; tcp_input.c: tcp_reset (SYN_SENT)";
      const double spacing = s_.client.workload.per_second > 0 ? 1000.0 / s_.client.workload.per_second : 0;
      m.hi_ms = kExitAllowanceMs + spacing;
    }
    cands.push_back({m, 0});
  }

  void paused_peer(std::vector<Candidate>& cands) {
    const WorkloadKind kind = s_.client.workload.kind;
    if (kind == WorkloadKind::stream) {
      zero_window(cands, 0);
      return;
    }
    Model m = base("detection");
    m.mechanism = "undetected";
    m.formula = "a stopped process's kernel keeps ACKing: nothing times out in TCP";
    m.source = "net/ipv4/tcp_input.c (the peer's kernel answers)";
    cands.push_back({m, 1e18});
  }

  void no_fault(std::vector<Candidate>& cands) {
    const WorkloadKind kind = s_.client.workload.kind;
    if (kind == WorkloadKind::stream && s_.server.behavior == ServerBehavior::stall) {
      zero_window(cands, 0);
      return;
    }
    if (kind == WorkloadKind::probe) {
      if (auto p = port_exhaustion(); p && p->count && *p->count > 0) {
        Model m = base("detection");
        const double rate = s_.client.workload.per_second;
        const double ports = p->inputs.count("ports") ? p->inputs.at("ports").value : 0;
        m.inputs = p->inputs;
        m.mechanism = "port_exhaustion";
        m.error = "EADDRNOTAVAIL";
        m.ms = rate > 0 ? ports * 1000.0 / rate : 0;
        m.lo_ms = *m.ms;
        m.hi_ms = *m.ms + (rate > 0 ? 1000.0 / rate : 0) + 2 * b_.jiffy();
        m.formula = "probe " + fmt(ports + 1) + " finds every one of the " + fmt(ports) +
                    " ephemeral ports held (TIME_WAIT): connect() fails at once";
        m.window = "one probe spacing";
        m.source = p->source;
        cands.push_back({m, *m.ms});
      }
    }
  }

  // Application timers that fire whatever the peer does (idle readers).
  void app_timers(std::vector<Candidate>& cands) {
    const WorkloadKind kind = s_.client.workload.kind;
    // The read began at ready; the fault came when it was installed (measured), which a loaded
    // machine may put after the scenario's `at`.
    const bool measured_fault = ff_.fault && m_.fault_after_ready_ms.has_value();
    const double fault_at = ff_.fault ? (measured_fault ? *m_.fault_after_ready_ms : ff_.at_ms) : 0;
    const char* fault_origin = measured_fault ? "measured" : "scenario";
    const bool reader = kind == WorkloadKind::idle;
    if (s_.client.app_timeout && s_.client.app_timeout->count() > 0 && (reader || kind == WorkloadKind::request)) {
      const double t = static_cast<double>(s_.client.app_timeout->count()) / 1e6;
      Model m = base("detection");
      m.inputs["app_timeout"] = Builder::input(t, "ms", "scenario", "client.app_timeout (poll timeout)");
      m.mechanism = "app_timeout";
      m.error = "app_timeout";
      if (reader) {
        m.inputs["read_began"] = Builder::input(-fault_at, "ms", fault_origin,
                                                "the read begins when the workload is ready, this long before the fault");
        m.ms = t - fault_at;
        m.formula =
            "poll() timeout " + fmt_ms(t) + " from the read, which began " + fmt_ms(fault_at) + " before the fault";
      } else {
        m.ms = t;
        m.formula = "poll() timeout " + fmt_ms(t) + " after the last request sent before the fault";
      }
      const double spacing =
          kind == WorkloadKind::request && s_.client.workload.per_second > 0 ? 1000.0 / s_.client.workload.per_second : 0;
      m.lo_ms = *m.ms - (kind == WorkloadKind::request ? 2 * b_.jiffy() : 0);
      m.hi_ms = *m.ms + hrtimer_slack(t) + spacing + 1;
      m.window = "poll()'s hrtimer slack (0.1% of the timeout, at least 50 us, at most 100 ms)" +
                 std::string(kind == WorkloadKind::request ? "; one request spacing" : "") + "; 1 ms to take the timestamp";
      m.source = "fs/select.c: do_poll, select_estimate_accuracy (hrtimer, not the timer wheel)";
      cands.push_back({m, *m.ms});
    } else if (opt_.rcvtimeo_ms && reader) {
      const double t = *opt_.rcvtimeo_ms;
      const int64_t j = msecs_to_jiffies(t, b_.hz());
      const auto slot = timer_wheel_slot(j, b_.hz());
      Model m = base("detection");
      m.inputs["rcvtimeo"] = Builder::input(t, "ms", "socket", "SO_RCVTIMEO");
      m.inputs["read_began"] = Builder::input(-fault_at, "ms", fault_origin,
                                              "the read begins when the workload is ready, this long before the fault");
      m.inputs["hz"] = Builder::input(b_.hz(), "Hz", "kernel default", "CONFIG_HZ");
      m.inputs["wheel_granularity"] = Builder::input(slot.max_late_ms, "ms", "kernel default",
                                                     "kernel/time/timer.c level " + std::to_string(slot.level));
      m.mechanism = "rcvtimeo";
      m.error = "EAGAIN";
      m.ms = jiffies_to_msecs(j, b_.hz()) - fault_at;
      m.lo_ms = *m.ms;
      m.hi_ms = *m.ms + slot.max_late_ms;
      m.formula = "SO_RCVTIMEO " + fmt_ms(t) + " (" + std::to_string(j) + " jiffies) from the read, which began " +
                  fmt_ms(fault_at) + " before the fault";
      m.window = "a timer-wheel timer of " + std::to_string(j) + " jiffies sits in level " +
                 std::to_string(slot.level) + ": up to " + fmt_ms(slot.max_late_ms) + " late, never early";
      m.source =
          "net/core/sock.c: sock_set_timeout; net/ipv4/tcp.c: tcp_recvmsg_locked -> sk_wait_data -> "
          "schedule_timeout; kernel/time/timer.c: calc_wheel_index";
      cands.push_back({m, *m.ms});
    }
  }

  // ---- state lifetimes ----------------------------------------------------------------------

  double census_resolution() const {
    return std::max(static_cast<double>(s_.sample_every.count()) / 1e6, kCensusResolutionMs);
  }

  Model time_wait(const std::string& host) const {
    Model m = base("TIME_WAIT");
    m.host = host;
    const auto slot = timer_wheel_slot(msecs_to_jiffies(kTcpTimeWaitMs, b_.hz()), b_.hz());
    const ModelInput fin = b_.sysctl(client_, "tcp_fin_timeout");
    m.mechanism = "time_wait";
    m.ms = kTcpTimeWaitMs;
    m.lo_ms = kTcpTimeWaitMs;
    m.hi_ms = kTcpTimeWaitMs + slot.max_late_ms + census_resolution();
    m.inputs["TCP_TIMEWAIT_LEN"] = Builder::input(kTcpTimeWaitMs, "ms", "kernel constant", "include/net/tcp.h");
    m.inputs["tcp_fin_timeout"] = {fin.value, "s", fin.origin, fin.detail + " (does not apply to TIME_WAIT)"};
    m.inputs["census_resolution"] =
        Builder::input(census_resolution(), "ms", "harness",
                       "sample_every, backing off to 1 s while counts sit still (docs/scenarios.md)");
    m.formula = "TIME_WAIT lasts TCP_TIMEWAIT_LEN = 60 s on the active closer, whatever tcp_fin_timeout says";
    m.window = "the 60 s timer sits in wheel level " + std::to_string(slot.level) + " (up to " +
               fmt_ms(slot.max_late_ms) + " late); the census sees the end within one sample";
    m.source =
        "net/ipv4/tcp_minisocks.c: tcp_time_wait (TCP_TIMEWAIT_LEN); net/ipv4/inet_timewait_sock.c: "
        "inet_twsk_schedule";
    return m;
  }

  Model fin_wait2() const {
    Model m = base("FIN_WAIT2");
    m.host = client_;
    const ModelInput fin = opt_.linger2_s ? Builder::input(*opt_.linger2_s, "s", "socket", "TCP_LINGER2")
                                          : b_.sysctl(client_, "tcp_fin_timeout");
    const double fin_ms = fin.value * 1000.0;
    const double rto = rto_ms();
    const double floor_ms = 4 * rto - rto / 2;  // tcp_fin_time(): at least (rto << 2) - (rto >> 1)
    const double tmo = std::max(fin_ms, floor_ms);
    double late;
    if (tmo > kTcpTimeWaitMs)
      late = timer_wheel_slot(msecs_to_jiffies(tmo - kTcpTimeWaitMs, b_.hz()), b_.hz()).max_late_ms +
             timer_wheel_slot(msecs_to_jiffies(kTcpTimeWaitMs, b_.hz()), b_.hz()).max_late_ms;
    else
      late = timer_wheel_slot(msecs_to_jiffies(tmo, b_.hz()), b_.hz()).max_late_ms;
    m.inputs["tcp_fin_timeout"] = {fin.value, "s", fin.origin, fin.detail};
    m.inputs["rto"] = Builder::input(rto, "ms", "kernel default", "icsk_rto (3.5 x RTO is the floor)");
    m.inputs["census_resolution"] =
        Builder::input(census_resolution(), "ms", "harness",
                       "sample_every, backing off to 1 s while counts sit still (docs/scenarios.md)");
    m.mechanism = "fin_timeout";
    m.ms = tmo;
    m.lo_ms = tmo;
    m.hi_ms = tmo + late + census_resolution();
    m.formula =
        "an orphaned FIN_WAIT2 lives tcp_fin_time = max(tcp_fin_timeout " + fmt_ms(fin_ms) + ", 3.5 x RTO " +
        fmt_ms(floor_ms) + ") = " + fmt_ms(tmo) +
        (tmo > kTcpTimeWaitMs ? " (keepalive timer, then a 60 s timewait sock)" : " (as a FIN_WAIT2 timewait sock)");
    m.window = "timer-wheel granularity of that timer; one census sample";
    m.source =
        "net/ipv4/tcp.c: tcp_close (orphan FIN_WAIT2), tcp_fin_time (include/net/tcp.h); net/ipv4/tcp_input.c: "
        "tcp_rcv_state_process (FIN_WAIT1 -> FIN_WAIT2, tcp_time_wait(TCP_FIN_WAIT2, tmo)); tcp_timer.c: "
        "tcp_keepalive_timer (FIN_WAIT2 branch)";
    return m;
  }

  Model syn_recv() const {
    Model m = base("SYN_RECV");
    const std::string server = s_.server.on;
    m.host = server;
    const ModelInput n_in = s_.server.socket.syn_count ? Builder::input(*s_.server.socket.syn_count, "count", "socket",
                                                                        "TCP_SYNCNT on the listener")
                                                       : b_.sysctl(server, "tcp_synack_retries");
    const int n = static_cast<int>(n_in.value);
    double t = 0, late = 0;
    for (int k = 0; k <= n; ++k) {
      const double d = std::min(kTcpTimeoutInitMs * std::pow(2.0, k), 120000.0);
      t += d;
      late += timer_wheel_slot(msecs_to_jiffies(d, b_.hz()), b_.hz()).max_late_ms;
    }
    m.inputs["tcp_synack_retries"] = n_in;
    m.inputs["TCP_TIMEOUT_INIT"] = Builder::input(kTcpTimeoutInitMs, "ms", "kernel constant", "include/net/tcp.h");
    m.mechanism = "synack_retries";
    m.ms = t;
    m.lo_ms = t;
    m.hi_ms = t + late;
    m.formula = "the request socket retransmits its SYN-ACK at 1, 3, 7 ... s and is dropped at the timer after the " +
                std::to_string(n) + "th retransmission: (2^(" + std::to_string(n) + "+1) - 1) x 1 s = " + fmt_ms(t);
    m.window = "timer-wheel granularity, accumulating";
    m.source = "net/ipv4/inet_connection_sock.c: reqsk_timer_handler, syn_ack_recalc, reqsk_timeout";
    return m;
  }

  std::optional<Model> port_exhaustion() const {
    const auto& w = s_.client.workload;
    auto range = parse_ints(b_.sysctl_text(client_, "ip_local_port_range"));
    if (range.size() < 2 || w.count <= 0) return std::nullopt;
    const double ports = static_cast<double>(range[1] - range[0] + 1);
    if (w.count <= ports) return std::nullopt;
    const bool peer_closes = s_.server.behavior == ServerBehavior::echo || s_.server.behavior == ServerBehavior::respond;
    if (opt_.linger_zero || !peer_closes) return std::nullopt;
    Model m = base("probe_failures");
    m.host = client_;
    const ModelInput reuse = b_.sysctl(client_, "tcp_tw_reuse");
    const ModelInput ts = b_.sysctl(client_, "tcp_timestamps");
    const ModelInput delay = b_.sysctl(client_, "tcp_tw_reuse_delay");
    m.inputs["ports"] = Builder::input(ports, "count", "sysctl", "net.ipv4.ip_local_port_range");
    m.inputs["probes"] = Builder::input(w.count, "count", "scenario", "client.workload.count");
    m.inputs["tcp_tw_reuse"] = reuse;
    m.inputs["tcp_timestamps"] = ts;
    m.inputs["tcp_tw_reuse_delay"] = {delay.value, "ms", delay.origin, delay.detail};
    m.inputs["TCP_TIMEWAIT_LEN"] = Builder::input(kTcpTimeWaitMs, "ms", "kernel constant", "include/net/tcp.h");
    const double rate = w.per_second;
    const double cycle = rate > 0 ? ports * 1000.0 / rate : 0;  // how long until a port is needed again
    const bool reuse_on = reuse.value == 1;                     // 2: loopback only (veth addresses are not)
    const bool can_reuse = reuse_on && ts.value != 0 && cycle > delay.value;
    const double run_ms = rate > 0 ? w.count * 1000.0 / rate : 0;
    double failures = 0;
    if (!can_reuse) {
      // Ports come back only when their TIME_WAIT ends (60 s).
      const double freed = run_ms > kTcpTimeWaitMs ? std::floor((run_ms - kTcpTimeWaitMs) * rate / 1000.0) : 0;
      failures = std::max(0.0, w.count - ports - freed);
    }
    m.mechanism = "port_exhaustion";
    m.error = failures > 0 ? "EADDRNOTAVAIL" : "";
    m.count = failures;
    m.lo_ms = failures;
    m.hi_ms = failures;
    m.formula =
        can_reuse
            ? "tcp_tw_reuse 1 with timestamps: connect() reuses a TIME_WAIT older than tcp_tw_reuse_delay (" +
                  fmt_ms(delay.value) + "); a port is needed again after " + fmt_ms(cycle) + ": no failure"
            : "every probe holds its port in TIME_WAIT for 60 s and nothing reuses it (" +
                  std::string(!reuse_on ? (reuse.value == 2 ? "tcp_tw_reuse 2 is loopback-only" : "tcp_tw_reuse 0")
                                        : (ts.value == 0 ? "no timestamps: no tw_ts_recent_stamp to check"
                                                         : "ports are needed again sooner than the reuse delay")) +
                  "): " + fmt(w.count) + " probes - " + fmt(ports) + " ports = " + fmt(failures) + " EADDRNOTAVAIL";
    m.window = "exact: ports and probes are counts";
    m.source =
        "net/ipv4/inet_hashtables.c: __inet_hash_connect; net/ipv4/tcp_ipv4.c: tcp_twsk_unique "
        "(sysctl_tcp_tw_reuse, tw_ts_recent_stamp, tcp_tw_reuse_delay); Documentation/networking/ip-sysctl.rst";
    return m;
  }

  // ---- helpers ------------------------------------------------------------------------------

  static double hrtimer_slack(double timeout_ms) {
    // fs/select.c: select_estimate_accuracy(): 0.1% of the timeout for a nice-0 task, at most
    // MAX_SLACK (100 ms), at least the task's timer_slack_ns (50 us).
    return std::clamp(timeout_ms / 1000.0, 0.05, 100.0);
  }

  static ModelInput scaled(ModelInput in, double factor, const std::string& unit) {
    in.value *= factor;
    in.unit = unit;
    return in;
  }

  Model base(const std::string& quantity) const {
    Model m;
    m.quantity = quantity;
    return m;
  }

  Model unmodelled(const std::string& why) const {
    Model m = base("detection");
    m.mechanism = "unmodelled";
    m.formula = why;
    m.source = "(no kernel rule)";
    return m;
  }

  Model undetected_from(const Model& m, const std::string& why) const {
    Model u = m;
    u.ms.reset();
    u.mechanism = "undetected";
    u.formula = why + " - beyond the deadline (" + fmt_ms(deadline_ms_) + "). " + m.formula;
    u.inputs["deadline"] = Builder::input(deadline_ms_, "ms", "scenario", "deadline");
    return u;
  }

  Model choose(std::vector<Candidate>& cands) const {
    Model out;
    if (cands.empty()) {
      out = base("detection");
      out.mechanism = "undetected";
      out.would_fire_ms.reset();
      out.formula = s_.client.workload.kind == WorkloadKind::idle
                        ? "an idle socket without keepalive or a read timeout sends nothing, so nothing ever fails"
                        : "no kernel mechanism ends this connection";
      out.source = "net/ipv4/tcp_timer.c (no timer is armed on an idle socket without SO_KEEPALIVE)";
      out.inputs["deadline"] = Builder::input(deadline_ms_, "ms", "scenario", "deadline");
      return out;
    }
    std::stable_sort(cands.begin(), cands.end(),
                     [](const Candidate& a, const Candidate& b) { return a.order < b.order; });
    out = cands.front().model;
    for (size_t i = 1; i < cands.size(); ++i) {
      const Model& o = cands[i].model;
      if (o.ms)
        out.notes.push_back("later: " + o.mechanism + " at " + fmt_ms(*o.ms));
      else if (o.would_fire_ms)
        out.notes.push_back("later: " + o.would_be_mechanism + " at " + fmt_ms(*o.would_fire_ms));
    }
    if (out.ms && m_.fault_install_ms && ff_.fault) {
      out.lo_ms -= *m_.fault_install_ms;
      out.inputs["fault_install"] = Builder::input(*m_.fault_install_ms, "ms", "measured",
                                                   "the fault's commit ran this long before its timestamp");
      out.window +=
          "; the fault may have been in force up to " + fmt_ms(*m_.fault_install_ms) + " before its timestamp";
    }
    if (out.ms && *out.ms > deadline_ms_) {
      out.would_fire_ms = out.ms;
      out.would_be_mechanism = out.mechanism;
      out = undetected_from(out, out.mechanism + " would end it " + fmt_ms(*out.ms) + " after the fault");
    }
    return out;
  }

  Builder b_;
  const Scenario& s_;
  const MeasuredInputs& m_;
  ClientOptions opt_;
  FaultFacts ff_;
  std::string client_;
  double rto_min_ms_ = kTcpRtoMinMs, rto_max_ms_ = 120000;
  double srtt_ms_ = kAssumedSrttMs, rttvar_ms_ = 0;
  int64_t rto_j_ = 51;
  double deadline_ms_ = 60000;
  double ka_lo_shift_ = 0;
};

}  // namespace

KernelEnvironment KernelEnvironment::linux_defaults() {
  // A fresh network namespace of Linux 6.18 (read with unshare -n on this machine).
  KernelEnvironment env;
  env.hz = 250;
  env.sysctl = {
      {"net.ipv4.tcp_retries1", "3"},
      {"net.ipv4.tcp_retries2", "15"},
      {"net.ipv4.tcp_syn_retries", "6"},
      {"net.ipv4.tcp_synack_retries", "5"},
      {"net.ipv4.tcp_syn_linear_timeouts", "4"},
      {"net.ipv4.tcp_keepalive_time", "7200"},
      {"net.ipv4.tcp_keepalive_intvl", "75"},
      {"net.ipv4.tcp_keepalive_probes", "9"},
      {"net.ipv4.tcp_fin_timeout", "60"},
      {"net.ipv4.tcp_rto_min_us", "200000"},
      {"net.ipv4.tcp_rto_max_ms", "120000"},
      {"net.ipv4.tcp_orphan_retries", "0"},
      {"net.ipv4.tcp_thin_linear_timeouts", "0"},
      {"net.ipv4.tcp_early_retrans", "3"},
      {"net.ipv4.tcp_sack", "1"},
      {"net.ipv4.tcp_timestamps", "1"},
      {"net.ipv4.tcp_tw_reuse", "2"},
      {"net.ipv4.tcp_tw_reuse_delay", "1000"},
      {"net.ipv4.tcp_rmem", "4096 131072 6291456"},
      {"net.ipv4.ip_local_port_range", "32768 60999"},
  };
  return env;
}

const std::vector<std::string>& KernelEnvironment::keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& [key, value] : linux_defaults().sysctl) k.push_back(key);
    return k;
  }();
  return keys;
}

ModelCheck check(const Model& model, std::optional<double> measured) {
  ModelCheck c;
  const bool counts = model.count.has_value();
  if (!model.detected()) {
    if (model.mechanism == "unmodelled") {
      c.holds = true;
      c.why = "not modelled: " + model.formula;
      return c;
    }
    c.holds = !measured.has_value();
    c.why = c.holds ? "undetected, as the model says"
                    : "the model says undetected, but it was detected after " + fmt(*measured);
    return c;
  }
  if (!measured) {
    c.holds = false;
    c.why = "the model predicts " + (counts ? fmt(*model.count) : fmt_ms(*model.ms)) + " (" + model.mechanism +
            "), but nothing was detected";
    return c;
  }
  const double predicted = counts ? *model.count : *model.ms;
  c.delta_ms = *measured - predicted;
  c.holds = *measured >= model.lo_ms - 1e-9 && *measured <= model.hi_ms + 1e-9;
  const std::string unit = counts ? "" : " ms";
  if (c.holds)
    c.why = "within [" + fmt(model.lo_ms) + ", " + fmt(model.hi_ms) + "]" + unit;
  else if (*measured < model.lo_ms)
    c.why = fmt(model.lo_ms - *measured) + unit + " earlier than the model allows (" + fmt(model.lo_ms) + unit + ")";
  else
    c.why = fmt(*measured - model.hi_ms) + unit + " later than the model allows (" + fmt(model.hi_ms) + unit + ")";
  return c;
}

Model predict_detection(const Scenario& scenario, const KernelEnvironment& env, const MeasuredInputs& measured) {
  Predictor p(scenario, env, measured);
  return p.detection();
}

std::vector<Model> predict_state_lifetimes(const Scenario& scenario, const KernelEnvironment& env,
                                           const MeasuredInputs& measured) {
  Predictor p(scenario, env, measured);
  return p.lifetimes();
}

CellModel predict_cell(const Scenario& scenario, const KernelEnvironment& env, const MeasuredInputs& measured) {
  CellModel out;
  out.detection = predict_detection(scenario, env, measured);
  out.lifetimes = predict_state_lifetimes(scenario, env, measured);
  return out;
}

std::vector<std::string> explain_model(const Model& m) {
  std::vector<std::string> out;
  const std::string what =
      m.quantity == "detection" ? "detection" : m.quantity + (m.host.empty() ? "" : " on " + m.host);
  if (m.count)
    out.push_back(what + ": " + fmt(*m.count) + " (" + m.mechanism + (m.error.empty() ? "" : ", " + m.error) + ")");
  else if (m.ms)
    out.push_back(what + ": " + fmt_ms(*m.ms) + " via " + m.mechanism + (m.error.empty() ? "" : " (" + m.error + ")") +
                  ", window [" + fmt_ms(m.lo_ms) + ", " + fmt_ms(m.hi_ms) + "]");
  else if (m.mechanism == "unmodelled")
    out.push_back(what + ": not modelled");
  else
    out.push_back(what + ": undetected within the deadline" +
                  (m.would_fire_ms ? " (" + m.would_be_mechanism + " would fire at " + fmt_ms(*m.would_fire_ms) + ")"
                                   : " (nothing would ever fire)"));
  out.push_back("  formula: " + m.formula);
  for (const auto& [name, in] : m.inputs)
    out.push_back("  input " + name + " = " + fmt(in.value) + (in.unit.empty() ? "" : " " + in.unit) + "  [" +
                  in.origin + (in.detail.empty() ? "" : ": " + in.detail) + "]");
  if (!m.window.empty()) out.push_back("  window: " + m.window);
  if (!m.source.empty()) out.push_back("  source: " + m.source);
  for (const auto& n : m.notes) out.push_back("  note: " + n);
  return out;
}

std::vector<std::string> explain_cell(const Scenario& scenario, const CellModel& model) {
  std::vector<std::string> out;
  out.push_back("kernel model for " + scenario.name);
  for (auto& l : explain_model(model.detection)) out.push_back(l);
  for (const auto& lt : model.lifetimes)
    for (auto& l : explain_model(lt)) out.push_back(l);
  return out;
}

}  // namespace sockchaos::harness
