#include "harness/metrics/mechanism_evidence.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sockchaos::harness {
namespace {

std::string evidence_number(double v) {
  char buf[64];
  if (std::fabs(v - std::round(v)) < 1e-9)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string evidence_ms(double ms) {
  if (std::fabs(ms) >= 1000 && std::fabs(ms / 1000.0 - std::round(ms / 1000.0)) < 1e-9) return evidence_number(ms / 1000.0) + " s";
  return evidence_number(ms) + " ms";
}

std::string plural(int n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::optional<double> input(const Model& m, const std::string& name) {
  auto it = m.inputs.find(name);
  if (it == m.inputs.end()) return std::nullopt;
  return it->second.value;
}

std::optional<int64_t> counter(const ObservedEvidence& e, const std::string& name) {
  auto it = e.counters.find(name);
  if (it == e.counters.end()) return std::nullopt;
  return it->second;
}

// "backoff 200 -> 3200 ms" from the gaps between retransmissions.
std::string backoff_text(const std::vector<double>& times) {
  if (times.size() < 2) return "";
  return "backoff " + evidence_number(times[1] - times[0]) + " -> " + evidence_number(times.back() - times[times.size() - 2]) + " ms";
}

bool timeout_like(const std::string& mechanism) {
  return mechanism == "tcp_user_timeout" || mechanism == "keepalive" || mechanism == "tcp_retries2" ||
         mechanism == "syn_retries";
}

}  // namespace

bool ObservedEvidence::any() const {
  return keepalive_probes_sent || keepalive_probes_answered || !data_retransmissions_ms.empty() || zero_window_probes ||
         first_window_probe_ms || rst_received_ms || fin_received_ms || !icmp_errors.empty() || syn_retransmissions ||
         last_answered_ms || tcp_info.retransmits || tcp_info.probes || tcp_info.backoff || tcp_info.unacked ||
         tcp_info.rto_ms || tcp_info.last_data_recv_ms || tcp_info.last_data_sent_ms || tcp_info.last_ack_recv_ms ||
         !counters.empty();
}

std::string mechanism_from_errno(const std::string& error, const std::string& syscall) {
  if (error == "app_timeout") return "app_timeout";
  if (error == "connect_timeout") return "connect_timeout";
  if (error == "EAGAIN" || error == "EWOULDBLOCK") return syscall == "send" ? "sndtimeo" : "rcvtimeo";
  if (error == "ECONNRESET" || error == "EPIPE") return "rst";
  if (error == "ECONNREFUSED") return "refused";
  if (error == "EOF") return "fin";
  if (error == "EADDRNOTAVAIL") return "port_exhaustion";
  if (error == "EHOSTUNREACH" || error == "ENETUNREACH" || error == "EACCES" || error == "EPERM") return "icmp";
  if (error == "ETIMEDOUT") return syscall == "connect" ? "syn_retries" : "tcp_retries2";
  if (error.rfind("exit:", 0) == 0) return "exit";
  return "other";
}

MechanismEvidence mechanism_from_evidence(const std::string& error, const std::string& syscall,
                                          std::optional<double> detection_ms, const Model& model,
                                          const ObservedEvidence& ev) {
  MechanismEvidence out;
  out.evidence_available = ev.any();
  const std::string by_errno = mechanism_from_errno(error, syscall);
  // The configured guess: the model's mechanism when it predicted one that fits the errno.
  std::string configured = by_errno;
  if (!model.mechanism.empty() && model.mechanism != "undetected" && model.mechanism != "unmodelled") {
    const bool both_timeouts = error == "ETIMEDOUT" && timeout_like(model.mechanism);
    if (both_timeouts || model.mechanism == by_errno) configured = model.mechanism;
  }
  auto finish = [&](const std::string& mechanism, const std::string& basis) {
    out.mechanism = mechanism;
    out.basis = basis;
    out.agrees_with_configuration = mechanism == configured;
    return out;
  };
  const std::string no_evidence = "no packet or tcp_info evidence; inferred from errno " + error +
                                  (syscall.empty() ? "" : " (" + syscall + ")") + " and the options";

  // ---- errors an application timer or the errno decides ----------------------------------
  if (by_errno == "app_timeout" || by_errno == "connect_timeout" || by_errno == "rcvtimeo" || by_errno == "sndtimeo" ||
      by_errno == "exit" || by_errno == "port_exhaustion") {
    std::string basis;
    if (by_errno == "app_timeout")
      basis = "the application's poll() timeout expired; the kernel reported nothing";
    else if (by_errno == "connect_timeout")
      basis = "the scenario's connect_timeout expired before the kernel gave up on the SYNs";
    else if (by_errno == "rcvtimeo")
      basis = "recv() returned EAGAIN: SO_RCVTIMEO expired (the socket itself was still open)";
    else if (by_errno == "sndtimeo")
      basis = "send() returned EAGAIN: SO_SNDTIMEO expired with the send buffer full";
    else if (by_errno == "exit")
      basis = "the user's program exited with status " + error.substr(5);
    else
      basis = "connect() returned EADDRNOTAVAIL: no free ephemeral port for this destination";
    if (ev.rst_received_ms) basis += "; a RST had arrived at +" + evidence_ms(*ev.rst_received_ms);
    return finish(by_errno, basis);
  }
  if (by_errno == "rst") {
    if (ev.rst_received_ms) {
      const std::string when = ev.heal_ms ? evidence_ms(*ev.rst_received_ms - *ev.heal_ms) + " after the heal"
                                          : evidence_ms(*ev.rst_received_ms) + " after the fault";
      return finish("rst", "RST received " + when);
    }
    return finish("rst", out.evidence_available
                             ? "no RST in the capture; " + error + " says the peer reset the connection"
                             : no_evidence);
  }
  if (by_errno == "fin") {
    return finish("fin", ev.fin_received_ms
                             ? "FIN received " + evidence_ms(*ev.fin_received_ms) + " after the fault; read() returned 0"
                             : (out.evidence_available ? "read() returned 0 (no FIN captured)" : no_evidence));
  }
  if (by_errno == "refused") {
    std::string basis = no_evidence;
    if (ev.rst_received_ms) basis = "RST in answer to the SYN, " + evidence_ms(*ev.rst_received_ms) + " after the fault";
    for (const auto& i : ev.icmp_errors)
      if (i == "port-unreachable") basis = "ICMP port unreachable in answer to the SYN (a hard error in SYN_SENT)";
    return finish("refused", basis);
  }
  if (by_errno == "icmp") {
    if (ev.icmp_errors.empty())
      return finish("icmp",
                    out.evidence_available ? "no ICMP captured; " + error + " is an ICMP error's errno" : no_evidence);
    std::string kinds;
    for (const auto& i : ev.icmp_errors)
      if (kinds.find(i) == std::string::npos) kinds += (kinds.empty() ? "" : ", ") + i;
    const int n = static_cast<int>(ev.icmp_errors.size());
    if (syscall == "connect")
      return finish("icmp", "ICMP " + kinds + " in answer to the SYN: a hard error in SYN_SENT (tcp_v4_err)");
    const int retx = static_cast<int>(ev.data_retransmissions_ms.size());
    return finish("icmp", plural(n, "ICMP error", "ICMP errors") + " (" + kinds + ")" +
                              (retx ? " for " + plural(retx, "retransmission", "retransmissions") : "") +
                              ": a soft error on an established connection; it ended at its retransmission limit and "
                              "reported the ICMP errno (tcp_write_err: sk_err_soft)");
  }
  if (error != "ETIMEDOUT") return finish(by_errno, out.evidence_available ? "errno " + error : no_evidence);

  // ---- ETIMEDOUT: which timer? ------------------------------------------------------------
  const std::optional<double> ut = input(model, "tcp_user_timeout");
  const std::optional<double> keepcnt = input(model, "keepalive_count");
  const std::optional<int64_t> ka_counter = counter(ev, "TcpExt.TCPKeepAlive");
  const std::optional<int64_t> syn_counter = counter(ev, "TcpExt.TCPSynRetrans");
  const std::optional<int64_t> winprobe_counter = counter(ev, "TcpExt.TCPWinProbe");
  const std::optional<int64_t> rto_counter = counter(ev, "TcpExt.TCPTimeouts");
  const std::optional<int64_t> abort_counter = counter(ev, "TcpExt.TCPAbortOnTimeout");
  const std::string abort_text =
      abort_counter && *abort_counter > 0 ? "; TCPAbortOnTimeout " + std::to_string(*abort_counter) : "";

  // SYN_SENT.
  const int syns = ev.syn_retransmissions ? *ev.syn_retransmissions : syn_counter ? static_cast<int>(*syn_counter) : -1;
  if (syscall == "connect" || (syns > 0 && ev.data_retransmissions_ms.empty())) {
    if (syns < 0) return finish(configured == "tcp_user_timeout" ? "tcp_user_timeout" : "syn_retries", no_evidence);
    const std::string seen = plural(syns, "SYN retransmission", "SYN retransmissions") + " and no SYN-ACK";
    if (ut)
      return finish("tcp_user_timeout", seen + "; TCP_USER_TIMEOUT " + evidence_ms(*ut) +
                                            " since the first SYN ended connect() (it replaces the SYN time budget)" +
                                            abort_text);
    const auto retries = input(model, "syn_retries");
    const auto linear = input(model, "tcp_syn_linear_timeouts");
    return finish("syn_retries", seen + "; " +
                                     (retries ? "TCP_SYNCNT/tcp_syn_retries " + evidence_number(*retries) +
                                                    (linear ? " (tcp_syn_linear_timeouts " + evidence_number(*linear) + ")" : "")
                                              : std::string("the SYN retry limit")) +
                                     " ended connect()" + abort_text);
  }

  // Keepalive on an idle socket.
  const int ka_sent = ev.keepalive_probes_sent ? *ev.keepalive_probes_sent
                      : ka_counter             ? static_cast<int>(*ka_counter)
                                               : -1;
  if (ka_sent > 0 && ev.data_retransmissions_ms.empty()) {
    // keepalive_probes_sent counts the probes after the last answer: all unanswered.
    const int answered = ev.keepalive_probes_answered.value_or(0);
    const int unanswered = ka_sent;
    std::string seen = plural(ka_sent, "keepalive probe", "keepalive probes") + " sent after the last answer, none answered" +
                       (answered ? " (" + std::to_string(answered) + " answered earlier)" : "");
    if (!ev.keepalive_probes_sent) seen = "TCPKeepAlive counted " + seen;
    // Without a user timeout only KEEPCNT unanswered probes end it (tcp_keepalive_timer); with
    // one, KEEPCNT is ignored and fewer (or more) probes can be the last.
    const bool beyond_keepcnt = keepcnt && unanswered > static_cast<int>(*keepcnt);
    if (ut || beyond_keepcnt) {
      std::string basis =
          seen + "; TCP_USER_TIMEOUT " + (ut ? evidence_ms(*ut) + " " : "") + "since the last answer ended it";
      if (keepcnt) basis += " (TCP_KEEPCNT " + evidence_number(*keepcnt) + " ignored once a user timeout is set)";
      if (!ut)
        basis += "; no user timeout was configured, yet the probes went past TCP_KEEPCNT: one was set on the socket";
      return finish("tcp_user_timeout", basis + abort_text);
    }
    return finish("keepalive",
                  seen + "; " + (keepcnt ? "TCP_KEEPCNT " + evidence_number(*keepcnt) : std::string("the keepalive probe count")) +
                      " unanswered probes ended it" + abort_text);
  }

  // Zero window: ACKed probes keep it alive; only the user timeout ends it.
  const int zw = ev.zero_window_probes ? *ev.zero_window_probes
                 : winprobe_counter    ? static_cast<int>(*winprobe_counter)
                                       : -1;
  if (zw > 0 && ev.data_retransmissions_ms.empty()) {
    const bool answered = !ev.zero_window_probes_answered || *ev.zero_window_probes_answered >= zw;
    std::string seen = plural(zw, "zero-window probe", "zero-window probes") +
                       (answered ? ", answered with window 0" : ", unanswered");
    if (ev.first_window_probe_ms) seen += "; the first at +" + evidence_ms(*ev.first_window_probe_ms);
    if (answered || ut)
      return finish("tcp_user_timeout",
                    seen + "; TCP_USER_TIMEOUT " + (ut ? evidence_ms(*ut) + " " : "") +
                        "counted from the first probe ended it (answered probes never reach tcp_retries2)" +
                        abort_text);
    return finish("tcp_retries2", seen + "; tcp_retries2 unanswered probes ended it (tcp_probe_timer)" + abort_text);
  }

  // Retransmissions of unacknowledged data.
  const std::vector<double>& rtx = ev.data_retransmissions_ms;
  const int retransmits = !rtx.empty()              ? static_cast<int>(rtx.size())
                          : ev.tcp_info.retransmits ? *ev.tcp_info.retransmits
                          : rto_counter             ? static_cast<int>(*rto_counter)
                                                    : -1;
  if (retransmits > 0) {
    std::string seen = plural(retransmits, "retransmission", "retransmissions");
    if (ev.retransmitted_seq) seen += " of seq " + std::to_string(*ev.retransmitted_seq);
    if (rtx.size() >= 2) seen += ", " + backoff_text(rtx);
    if (rtx.empty()) {
      seen = ev.tcp_info.retransmits ? "tcp_info: " + seen : "TCPTimeouts counted " + seen;
      if (ev.tcp_info.backoff) seen += ", backoff " + std::to_string(*ev.tcp_info.backoff);
      if (ev.tcp_info.rto_ms) seen += ", rto " + evidence_ms(*ev.tcp_info.rto_ms);
    }
    if (rtx.empty() || !detection_ms) {
      const std::string mech = ut ? "tcp_user_timeout" : "tcp_retries2";
      return finish(mech, seen + "; " + (ut ? "TCP_USER_TIMEOUT " + evidence_ms(*ut) : std::string("tcp_retries2")) +
                              " (configured; the first retransmission's time is unknown)" + abort_text);
    }
    const double first = rtx.front();
    const double elapsed = *detection_ms - first;
    const int hz = static_cast<int>(input(model, "hz").value_or(250));
    const double jiffy = 1000.0 / hz;
    // What each limit predicts from the first retransmission, with the observed base RTO.
    // The model's RTO; else half the first gap (R1 doubles it), floored to jiffies since a
    // timer only ever fires late.
    const std::optional<double> model_rto = input(model, "rto");
    const double rto_max = input(model, "rto_max").value_or(120000);
    const int64_t rto_j = model_rto ? kernel::msecs_to_jiffies(*model_rto, hz)
                          : rtx.size() >= 2
                              ? std::max<int64_t>(1, static_cast<int64_t>(std::floor((rtx[1] - rtx[0]) / 2 / jiffy)))
                              : kernel::msecs_to_jiffies(204, hz);
    const int n = static_cast<int>(input(model, "tcp_retries2").value_or(15));
    const double budget = kernel::tcp_model_timeout_ms(n, 200, rto_max, hz);
    const auto r2 = kernel::retransmit_until_death(rto_j, rto_max, budget, false, hz);
    const bool fits_r2 = elapsed >= r2.death_min_ms - 2 * jiffy && elapsed <= r2.death_max_ms + 2 * jiffy;
    bool fits_ut = false;
    if (ut) {
      const auto u = kernel::retransmit_until_death(rto_j, rto_max, *ut, true, hz);
      fits_ut = elapsed >= *ut - 2 * jiffy && elapsed <= u.death_max_ms + 2 * jiffy;
    }
    const std::string from_first =
        " counted from the first at +" + evidence_ms(first) + " (ended " + evidence_ms(elapsed) + " after it)";
    if (ut && (fits_ut || !fits_r2))
      return finish("tcp_user_timeout", seen + "; TCP_USER_TIMEOUT " + evidence_ms(*ut) + from_first +
                                            (fits_ut ? "" : "; the time fits neither limit exactly") + abort_text);
    if (fits_r2 || !ut)
      return finish("tcp_retries2", seen + "; tcp_retries2 " + std::to_string(n) + " (budget " + evidence_ms(budget) + ")" +
                                        from_first +
                                        (ut ? "; the user timeout " + evidence_ms(*ut) + " does not fit that time" : "") +
                                        (fits_r2 ? "" : "; the time does not fit its schedule exactly") + abort_text);
  }
  if (abort_counter && *abort_counter > 0)
    return finish(configured, "TCPAbortOnTimeout " + std::to_string(*abort_counter) +
                                  " (a retransmission/keepalive timer gave up); which one is not shown; " + configured +
                                  " from the options");
  return finish(configured, no_evidence);
}

}  // namespace sockchaos::harness

namespace sockchaos::harness {

std::string undetected_basis(const Model& model, const ObservedEvidence& ev, double deadline_ms) {
  std::string basis = "no call failed within the deadline (" + evidence_ms(deadline_ms) + ")";
  std::vector<std::string> seen;
  if (ev.keepalive_probes_sent && *ev.keepalive_probes_sent > 0)
    seen.push_back(plural(*ev.keepalive_probes_sent, "keepalive probe", "keepalive probes") + " sent, " +
                   std::to_string(ev.keepalive_probes_answered.value_or(0)) + " answered");
  if (!ev.data_retransmissions_ms.empty())
    seen.push_back(plural(static_cast<int>(ev.data_retransmissions_ms.size()), "retransmission of the head",
                          "retransmissions of the head"));
  if (ev.zero_window_probes && *ev.zero_window_probes > 0)
    seen.push_back(plural(*ev.zero_window_probes, "zero-window probe", "zero-window probes") + ", " +
                   std::to_string(ev.zero_window_probes_answered.value_or(0)) + " answered");
  if (ev.syn_retransmissions && *ev.syn_retransmissions > 0)
    seen.push_back(plural(*ev.syn_retransmissions, "SYN retransmission", "SYN retransmissions"));
  if (ev.rst_received_ms) seen.push_back("a RST arrived at +" + evidence_ms(*ev.rst_received_ms));
  if (ev.fin_received_ms) seen.push_back("a FIN arrived at +" + evidence_ms(*ev.fin_received_ms));
  if (ev.tcp_info.backoff && *ev.tcp_info.backoff > 0)
    seen.push_back("tcp_info backoff " + std::to_string(*ev.tcp_info.backoff));
  if (seen.empty()) {
    basis += ev.any() ? "; nothing the kernel's timers act on was observed (no retransmission, probe, RST or FIN)"
                      : "; no packet or tcp_info evidence";
  } else {
    basis += "; observed: ";
    for (size_t i = 0; i < seen.size(); ++i) basis += (i ? ", " : "") + seen[i];
  }
  if (model.mechanism == "unmodelled")
    basis += "; not modelled";
  else if (model.detected())
    basis += "; the model expected " + model.mechanism + " at " + evidence_ms(model.ms.value_or(0));
  else if (model.would_fire_ms)
    basis += "; the model agrees: " + model.would_be_mechanism + " would fire only at " + evidence_ms(*model.would_fire_ms);
  else
    basis += "; the model agrees: nothing would ever fire";
  return basis;
}

}  // namespace sockchaos::harness
