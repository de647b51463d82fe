#include "harness/metrics/evidence.hpp"

#include <algorithm>

#include "common/clock.hpp"

namespace sockchaos::harness {
namespace {

int remote_port(const std::string& endpoint) {
  const auto colon = endpoint.rfind(':');
  if (colon == std::string::npos) return -1;
  try {
    return std::stoi(endpoint.substr(colon + 1));
  } catch (const std::exception&) {
    return -1;
  }
}

// A retransmission the RTO machinery counts. A tail loss probe is not one: it goes out through
// __tcp_retransmit_skb() without stamping tp->retrans_stamp (net/ipv4/tcp_output.c:
// tcp_send_loss_probe), so TCP_USER_TIMEOUT and tcp_retries2 start at the first real one.
bool is_retransmission(PacketEventKind k) {
  return k == PacketEventKind::retransmission || k == PacketEventKind::fast_retransmission ||
         k == PacketEventKind::spurious_retransmission;
}

// The client's flow to the server port the failure belongs to: the one under way when the
// failing call returned (or the last one when nothing failed).
std::optional<uint32_t> pick_flow(const PacketAnalysis& analysis, int port, int64_t failure_t) {
  std::optional<uint32_t> best;
  int64_t best_last = INT64_MIN;
  for (const auto& f : analysis.flows) {
    if (remote_port(f.remote) != port || !f.ifname.empty()) continue;
    if (failure_t >= 0 && f.first_mono_ns > failure_t) continue;
    if (f.last_mono_ns >= best_last) {
      best_last = f.last_mono_ns;
      best = f.flow;
    }
  }
  return best;
}

// Would the fault's rule have dropped this arriving packet? (blackhole, crash and reject drop or
// refuse what matches; a random drop cannot be told apart packet by packet.)
bool fault_drops(const Fault& f, const TcpPacket& p) {
  const bool drops = f.kind == FaultKind::blackhole || f.kind == FaultKind::crash || f.kind == FaultKind::reject ||
                     (f.kind == FaultKind::drop && f.probability >= 1.0);
  if (!drops) return false;
  if (f.kind == FaultKind::reject && p.has(tcp_flag::kRst)) return false;  // rejects let RSTs through
  const bool syn = p.has(tcp_flag::kSyn) && !p.has(tcp_flag::kAck);
  if (f.match.tcp_flags == TcpFlag::syn && !p.has(tcp_flag::kSyn)) return false;
  if (f.match.state == ConnState::new_ && !syn) return false;
  if (f.match.state == ConnState::established && syn) return false;
  if (f.match.port && p.src_port != *f.match.port && p.dst_port != *f.match.port) return false;
  return true;
}

// The packets a host's TCP actually got: a capture taps arriving packets before the host's own
// nftables rules (AF_PACKET sits ahead of the prerouting hook), so what a fault dropped at this
// host's ingress is in the capture too. End hosts only: on a forwarding host an arriving and a
// leaving packet cannot be told apart by address alone.
std::vector<TcpPacket> delivered(const HostPackets& hp, const RunRecord& r, const Scenario& s, size_t& dropped) {
  std::vector<TcpPacket> out;
  out.reserve(hp.packets.size());
  for (const auto& p : hp.packets) {
    const bool arriving = std::find(hp.own.begin(), hp.own.end(), p.src) == hp.own.end() &&
                          std::find(hp.own.begin(), hp.own.end(), p.dst) != hp.own.end();
    bool dropped_here = false;
    if (arriving)
      for (const auto& w : r.faults) {
        if (w.index < 0 || static_cast<size_t>(w.index) >= s.faults.size() || w.installed < 0) continue;
        if (p.mono_ns < w.installed || (w.healed >= 0 && p.mono_ns >= w.healed)) continue;
        const bool here = std::any_of(w.ingress.begin(), w.ingress.end(),
                                      [&](const auto& at) { return at.first == hp.host && at.second == p.ifname; });
        if (here && fault_drops(s.faults[static_cast<size_t>(w.index)], p)) dropped_here = true;
      }
    if (dropped_here) ++dropped;
    else out.push_back(p);
  }
  return out;
}

}  // namespace

RunEvidence gather_evidence(const RunRecord& r, const Scenario& s, int64_t failure_t) {
  RunEvidence out;
  out.environment = KernelEnvironment::linux_defaults();
  for (const auto& [k, v] : r.kernel_sysctl) out.environment.sysctl[k] = v;
  out.environment.hz = r.kernel_hz;
  const int64_t fault = r.first_fault;
  auto after_fault_ms = [&](int64_t t) { return static_cast<double>(t - (fault >= 0 ? fault : r.base)) / 1e6; };

  std::vector<std::vector<TcpPacket>> kept;  // what each host's TCP got
  for (const auto& capture : r.captures) {
    size_t dropped = 0;
    kept.push_back(delivered(capture, r, s, dropped));
    out.dropped_at_ingress.emplace_back(capture.host, dropped);
    out.hosts.emplace_back(capture.host, analyze_packets(kept.back(), capture.own));
  }

  // The client connection's tcp_info before the fault: its RTO and RTT as the model's inputs.
  const std::string& client = s.client.on;
  const TcpInfo* before_fault = nullptr;
  for (const auto& smp : r.samples) {
    if (fault >= 0 && smp.t >= fault) break;
    for (const auto& [host, sock] : smp.sockets)
      if (host == client && sock.info && sock.state == 1 && remote_port(sock.remote) == s.client.connect_port)
        before_fault = &*sock.info;
  }
  if (before_fault && before_fault->backoff == 0 && before_fault->rto_ms > 0) {
    out.measured.base_rto_ms = before_fault->rto_ms;
    out.measured.srtt_ms = before_fault->rtt_ms;
    out.measured.rttvar_ms = before_fault->rttvar_ms;
    if (before_fault->snd_mss > 0) out.measured.mss = static_cast<double>(before_fault->snd_mss);
  }
  if (fault >= 0 && r.base >= 0) out.measured.fault_after_ready_ms = static_cast<double>(fault - r.base) / 1e6;

  // tcp_info at the failure: the agent's own snapshot, else the last census of the connection.
  const TcpInfo* at_failure = r.client_error.tcp_info ? &*r.client_error.tcp_info : nullptr;
  if (!at_failure)
    for (const auto& smp : r.samples) {
      if (failure_t >= 0 && smp.t > failure_t) break;
      for (const auto& [host, sock] : smp.sockets)
        if (host == client && sock.info && remote_port(sock.remote) == s.client.connect_port) at_failure = &*sock.info;
    }
  if (at_failure) {
    auto& t = out.observed.tcp_info;
    t.retransmits = at_failure->retransmits;
    t.probes = at_failure->probes;
    t.backoff = at_failure->backoff;
    t.unacked = static_cast<int>(at_failure->unacked);
    t.rto_ms = at_failure->rto_ms;
    t.last_data_recv_ms = at_failure->last_data_recv_ms;
    t.last_data_sent_ms = at_failure->last_data_sent_ms;
    t.last_ack_recv_ms = at_failure->last_ack_recv_ms;
  }
  if (auto it = r.counters.find(client); it != r.counters.end())
    for (const auto& [name, value] : it->second)
      if (value != 0) out.observed.counters[name] = value;
  for (const auto& f : r.faults)
    if (f.installed == fault && f.healed >= 0) out.observed.heal_ms = after_fault_ms(f.healed);

  // The client's view of its connection in the capture.
  size_t client_index = out.hosts.size();
  for (size_t i = 0; i < out.hosts.size(); ++i)
    if (out.hosts[i].first == client) client_index = i;
  if (client_index == out.hosts.size()) return out;
  const PacketAnalysis& analysis = out.hosts[client_index].second;
  const auto flow = pick_flow(analysis, s.client.connect_port, failure_t);
  if (!flow) return out;
  out.workload_flow = std::make_pair(client_index, *flow);
  const FlowSummary* summary = nullptr;
  for (const auto& f : analysis.flows)
    if (f.flow == *flow) summary = &f;

  // The last packet the peer sent before the failure: from the packets themselves (events
  // only mark the unusual ones).
  const HostPackets& packets = r.captures[client_index];
  const std::vector<TcpPacket>& client_packets = kept[client_index];
  std::optional<int64_t> last_answer;
  for (size_t i = 0; i < client_packets.size() && i < analysis.frames.size(); ++i) {
    const TcpPacket& p = client_packets[i];
    if (!analysis.frames[i].analysed || analysis.frames[i].flow != *flow) continue;
    if (failure_t >= 0 && p.mono_ns > failure_t) continue;
    const bool from_peer = std::find(packets.own.begin(), packets.own.end(), p.src) == packets.own.end();
    if (from_peer) last_answer = std::max(last_answer.value_or(INT64_MIN), p.mono_ns);
  }
  if (last_answer) out.observed.last_answered_ms = out.measured.last_answered_ms = after_fault_ms(*last_answer);

  int keepalives_after_answer = 0, keepalive_acks = 0, window_probes = 0, window_probe_acks = 0, syn_retrans = 0;
  bool any_keepalive = false, any_window_probe = false;
  for (const auto& e : analysis.events) {
    if (e.flow != *flow || (failure_t >= 0 && e.mono_ns > failure_t)) continue;
    const bool sent = e.direction == PacketDirection::sent;
    const bool received = e.direction == PacketDirection::received;
    const bool after = fault < 0 || e.mono_ns >= fault;
    if (sent && is_retransmission(e.kind) && after) {
      if (out.observed.data_retransmissions_ms.empty()) out.observed.retransmitted_seq = e.seq;
      out.observed.data_retransmissions_ms.push_back(after_fault_ms(e.mono_ns));
    }
    if (sent && e.kind == PacketEventKind::syn_retransmission) ++syn_retrans;
    if (sent && e.kind == PacketEventKind::syn && !out.measured.first_syn_ms)
      out.measured.first_syn_ms = after_fault_ms(e.mono_ns);
    if (sent && e.kind == PacketEventKind::keep_alive) {
      any_keepalive = true;
      if (!last_answer || e.mono_ns > *last_answer) ++keepalives_after_answer;
    }
    if (received && e.kind == PacketEventKind::keep_alive_ack) ++keepalive_acks;
    if (sent && e.kind == PacketEventKind::zero_window_probe && after) {
      if (!any_window_probe) out.observed.first_window_probe_ms = after_fault_ms(e.mono_ns);
      any_window_probe = true;
      ++window_probes;
    }
    if (received && e.kind == PacketEventKind::zero_window_probe_ack && after) ++window_probe_acks;
    if (received && e.kind == PacketEventKind::rst && after && !out.observed.rst_received_ms)
      out.observed.rst_received_ms = after_fault_ms(e.mono_ns);
    if (received && e.kind == PacketEventKind::fin && !out.observed.fin_received_ms)
      out.observed.fin_received_ms = after_fault_ms(e.mono_ns);
  }
  if (any_keepalive || (summary && summary->sent.keep_alives > 0)) {
    out.observed.keepalive_probes_sent = keepalives_after_answer;
    out.observed.keepalive_probes_answered = keepalive_acks;
  }
  if (any_window_probe) {
    out.observed.zero_window_probes = window_probes;
    out.observed.zero_window_probes_answered = window_probe_acks;
  }
  if (syn_retrans > 0 || (summary && summary->sent.syns > 0)) out.observed.syn_retransmissions = syn_retrans;
  if (!out.observed.data_retransmissions_ms.empty())
    out.measured.first_retransmission_ms = out.observed.data_retransmissions_ms.front();
  out.measured.first_window_probe_ms = out.observed.first_window_probe_ms;
  return out;
}

}  // namespace sockchaos::harness
