#include "harness/metrics/packet_events.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <tuple>

#include "common/clock.hpp"

namespace sockchaos::harness {

namespace {

namespace wf = wireshark_flag;
using tcp_flag::kAck;
using tcp_flag::kFin;
using tcp_flag::kRst;
using tcp_flag::kSyn;

// packet-tcp.c's sequence-space comparisons (signed 32-bit difference).
bool lt_seq(uint32_t x, uint32_t y) { return static_cast<int32_t>(x - y) < 0; }
bool gt_seq(uint32_t x, uint32_t y) { return static_cast<int32_t>(y - x) < 0; }
bool le_seq(uint32_t x, uint32_t y) { return static_cast<int32_t>(x - y) <= 0; }

constexpr uint8_t kBaseSeqSet = 0x01, kSawSyn = 0x02, kSawSynAck = 0x04;  // TCP_S_*
constexpr uint32_t kMaxUnackedSegments = 10000;                            // TCP_MAX_UNACKED_SEGMENTS
constexpr uint64_t kOutOfOrderThresholdNs = 3000000;   // 3 ms without an iRTT
constexpr uint64_t kFastRetransmissionWindowNs = 20000000;  // 20 ms after the last dup ACK
constexpr int64_t kTlpMinimumGapNs = 2 * kMillisecond;  // TCP_TIMEOUT_MIN_US (include/net/tcp.h)

struct Unacked {
  uint32_t frame, seq, nextseq;
  int64_t ts;
};

// One previous transmission of a stretch of sequence space (for ordinals and gaps).
struct Transmission {
  int64_t end;
  int64_t mono_ns;
  uint32_t count;  // transmissions so far, the original included
};

struct FlowSide {
  // Wireshark's tcp_flow_t and tcp_analyze_seq_flow_info_t.
  uint8_t static_flags = 0;
  uint32_t base_seq = 0;
  uint32_t window = 0xffffffff;  // "last seen window", G_MAXUINT32 before any
  uint32_t lastsegmentflags = 0;
  uint32_t nextseq = 0, nextseqframe = 0;
  int64_t nextseqtime = 0;
  uint32_t maxseqtobeacked = 0;
  uint32_t lastack = 0;
  int64_t lastacktime = 0;
  uint32_t lastnondupack = 0;
  int32_t dupacknum = 0;
  std::vector<Unacked> segments;  // newest at the back (Wireshark's list head)

  // Refinements, in this direction's sequence space relative to base_seq, unwrapped.
  int64_t high = 0;   // highest sequence sent (end of the highest segment)
  int64_t acked = 0;  // highest acknowledged by the peer
  std::map<int64_t, Transmission> sent;
  int64_t last_tx_mono = INT64_MIN;
  bool retransmitted_since_progress = false;
  bool tlp_pending = false;
  int64_t tlp_high = 0;
  bool last_was_linux_zwp = false;
  bool sack_permitted = false;
  bool saw_syn = false;

  int64_t unwrap(uint32_t seq) const {
    const uint32_t rel = seq - base_seq;
    return high + static_cast<int32_t>(rel - static_cast<uint32_t>(high));
  }
};

struct Conversation {
  FlowSide flow1, flow2;
  uint32_t stream = 0;
  int64_t ts_mru_syn = 0;    // zero: none (nstime_is_zero)
  int64_t ts_first_rtt = 0;  // zero: none
  IpAddress local_address;
  uint16_t local_port = 0;
  size_t summary = 0;
};

struct ConversationKey {
  IpAddress a, b;
  uint16_t pa = 0, pb = 0;
  std::string ifname;
  auto tie() const { return std::tie(a, pa, b, pb, ifname); }
  bool operator<(const ConversationKey& o) const { return tie() < o.tie(); }
};

ConversationKey key_of(const TcpPacket& p, const std::string& ifname) {
  ConversationKey k{p.src, p.dst, p.src_port, p.dst_port, ifname};
  if (std::tie(k.b, k.pb) < std::tie(k.a, k.pa)) {
    std::swap(k.a, k.b);
    std::swap(k.pa, k.pb);
  }
  return k;
}

// get_tcp_conversation_data(): cmp_address(src, dst), then the ports; >= 0 is flow1.
bool is_flow1(const TcpPacket& p) {
  int direction = 0;
  if (p.src.family != p.dst.family) {
    direction = p.src.family < p.dst.family ? -1 : 1;
  } else {
    size_t n = p.src.family == 6 ? 16 : 4;
    for (size_t i = 0; i < n && direction == 0; ++i)
      if (p.src.bytes[i] != p.dst.bytes[i]) direction = p.src.bytes[i] < p.dst.bytes[i] ? -1 : 1;
  }
  if (direction == 0) direction = p.src_port > p.dst_port ? 1 : -1;
  return direction >= 0;
}

// tcp_analyze_sequence_number(), in its order. `ta` collects the frame's TCP_A_* flags.
void analyze_sequence_number(const Conversation& conv, FlowSide& fwd, FlowSide& rev, uint32_t frame, int64_t now,
                             uint32_t seq, uint32_t ack, uint32_t seglen, uint16_t flags, uint32_t window,
                             uint32_t& ta, FrameAnalysis& fa) {
  if (!(fwd.static_flags & kBaseSeqSet)) {
    if (flags & kSyn) {
      fwd.base_seq = seq;
      fwd.static_flags |= (flags & kAck) ? kSawSynAck : kSawSyn;
    } else {
      fwd.base_seq = seq - 1;
    }
    fwd.static_flags |= kBaseSeqSet;
  }
  if (!(rev.static_flags & kBaseSeqSet) && (flags & kAck)) {
    rev.base_seq = ack - 1;
    rev.static_flags |= kBaseSeqSet;
  }

  const bool no_syn_fin_rst = (flags & (kSyn | kFin | kRst)) == 0;
  // ZERO WINDOW PROBE: the next expected byte, exactly one, into a zero window.
  if (seglen == 1 && seq == fwd.nextseq && rev.window == 0) {
    ta |= wf::kZeroWindowProbe;
    goto finished_fwd;
  }
  // ZERO WINDOW
  if (window == 0 && no_syn_fin_rst) ta |= wf::kZeroWindow;
  // LOST PACKET: beyond the highest nextseq seen.
  if (fwd.nextseq && gt_seq(seq, fwd.nextseq) && (flags & kRst) == 0) ta |= wf::kLostPacket;
  // KEEP ALIVE: 0 or 1 byte, one byte before the next expected sequence number.
  if ((seglen == 0 || seglen == 1) && seq == fwd.nextseq - 1 && no_syn_fin_rst) ta |= wf::kKeepAlive;
  // WINDOW UPDATE: no data, same seq/ack as before, a new (non-zero) window.
  if (seglen == 0 && window && window != fwd.window && seq == fwd.nextseq && ack == fwd.lastack && no_syn_fin_rst)
    ta |= wf::kWindowUpdate;
  // (WINDOW FULL is not reproduced: it needs the window-scale bookkeeping.)
  // KEEP ALIVE ACK: repeats the previous ACK right after a keep-alive from the other side.
  if (seglen == 0 && window && window == fwd.window && seq == fwd.nextseq && ack == fwd.lastack &&
      (rev.lastsegmentflags & wf::kKeepAlive) && no_syn_fin_rst) {
    ta |= wf::kKeepAliveAck;
    goto finished_fwd;
  }
  // ZERO WINDOW PROBE ACK
  if (seglen == 0 && window == 0 && window == fwd.window && seq == fwd.nextseq && ack == fwd.lastack &&
      (rev.lastsegmentflags & wf::kZeroWindowProbe) && no_syn_fin_rst) {
    ta |= wf::kZeroWindowProbeAck;
    goto finished_fwd;
  }
  // DUPLICATE ACK
  if (seglen == 0 && window && window == fwd.window && seq == fwd.nextseq && ack == fwd.lastack && no_syn_fin_rst) {
    fwd.dupacknum = fwd.dupacknum == -1 ? 1 : fwd.dupacknum + 1;
    ta |= wf::kDuplicateAck;
    fa.duplicate_ack_num = static_cast<uint32_t>(fwd.dupacknum);
    fa.duplicate_ack_frame = fwd.lastnondupack;
  }

finished_fwd:
  if (ack != fwd.lastack) {
    fwd.lastnondupack = frame;
    fwd.dupacknum = 0;
  }
  // ACKED LOST PACKET: acknowledges beyond what was seen in the other direction.
  if (rev.maxseqtobeacked && gt_seq(ack, rev.maxseqtobeacked) && (flags & kAck)) {
    if (rev.maxseqtobeacked > rev.nextseq) {  // a plain unsigned comparison in Wireshark too
      rev.maxseqtobeacked = rev.nextseq;
      ta |= wf::kAckLostPacket;
    } else {
      if (rev.dupacknum == 0) ta |= wf::kAckLostPacket;
      rev.dupacknum = -1;
    }
  }

  // RETRANSMISSION / FAST RETRANSMISSION / OUT-OF-ORDER: data (or SYN/FIN) that does not
  // advance the sequence number.
  if (seglen > 0 || (flags & (kSyn | kFin))) {
    bool seq_not_advanced = fwd.nextseq && lt_seq(seq, fwd.nextseq);
    if (ta & wf::kKeepAlive) goto finished_checking_retransmission_type;
    // More than one byte starting just below nextseq: new data after a zero-window probe.
    if (seglen > 1 && fwd.nextseq - 1 == seq) seq_not_advanced = false;
    // SPURIOUS: everything in it was already acknowledged.
    if (seglen > 0 && rev.lastack && le_seq(seq + seglen, rev.lastack)) {
      ta |= wf::kSpuriousRetransmission;
      goto finished_checking_retransmission_type;
    }
    // tcp.fastrt_supersedes_ooo (default TRUE): fast retransmission is tested first.
    {
      uint64_t t = static_cast<uint64_t>(now) - static_cast<uint64_t>(rev.lastacktime);
      if (seq_not_advanced && rev.dupacknum >= 2 && rev.lastack == seq && t < kFastRetransmissionWindowNs) {
        ta |= wf::kFastRetransmission;
        goto finished_checking_retransmission_type;
      }
      t = static_cast<uint64_t>(now) - static_cast<uint64_t>(fwd.nextseqtime);
      const uint64_t ooo_thres =
          conv.ts_first_rtt == 0 ? kOutOfOrderThresholdNs : static_cast<uint64_t>(conv.ts_first_rtt);
      if (seq_not_advanced && t < ooo_thres && fwd.nextseq != seq + seglen + ((flags & (kSyn | kFin)) ? 1 : 0)) {
        ta |= wf::kOutOfOrder;
        goto finished_checking_retransmission_type;
      }
    }
    if (seq_not_advanced) ta |= wf::kRetransmission;
  }

finished_checking_retransmission_type:
  uint32_t nextseq = seq + seglen;
  if ((seglen || (flags & (kSyn | kFin))) && fwd.segments.size() < kMaxUnackedSegments) {
    if (flags & (kSyn | kFin)) nextseq += 1;
    fwd.segments.push_back(Unacked{frame, seq, nextseq, now});
  }
  // Highest nextseq; zero-window probes do not advance it.
  if (gt_seq(nextseq, fwd.nextseq) || !fwd.nextseq) {
    if (!(ta & wf::kZeroWindowProbe)) {
      fwd.nextseq = nextseq;
      fwd.nextseqframe = frame;
      fwd.nextseqtime = now;
    }
  }
  if (seq == fwd.maxseqtobeacked || !fwd.maxseqtobeacked) {
    if (!(ta & wf::kZeroWindowProbe)) fwd.maxseqtobeacked = fwd.nextseq;
  }
  fwd.window = window;
  fwd.lastack = ack;
  fwd.lastacktime = now;
  fwd.lastsegmentflags = ta;

  // Remove the segments of the other direction this acknowledges (newest first, as the list).
  for (size_t i = rev.segments.size(); i-- > 0;) {
    Unacked& u = rev.segments[i];
    for (;;) {
      if (ack == u.nextseq) break;  // exact match: delete
      if (gt_seq(ack, u.seq) && le_seq(ack, u.nextseq)) {
        u.seq = ack;  // partly acknowledged (Wireshark re-examines it, and then keeps it)
        continue;
      }
      if (gt_seq(u.nextseq, ack)) goto keep;
      break;  // old: delete
    }
    rev.segments.erase(rev.segments.begin() + static_cast<std::ptrdiff_t>(i));
  keep:;
  }
}

const std::array<const char*, kPacketEventKindCount> kKindNames = {
    "syn",           "syn_ack",        "syn_retransmission",    "syn_ack_retransmission", "retransmission",
    "fast_retransmission", "spurious_retransmission", "tail_loss_probe", "out_of_order", "lost_segment",
    "ack_lost_segment", "duplicate_ack", "keep_alive",   "keep_alive_ack", "zero_window",
    "zero_window_probe", "zero_window_probe_ack", "window_update", "fin", "rst",
};

std::string ms_text(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", to_ms(ns));
  return buf;
}

void count(DirectionCounts& c, const PacketEvent& e) {
  switch (e.kind) {
    case PacketEventKind::syn: ++c.syns; break;
    case PacketEventKind::syn_ack: ++c.syn_acks; break;
    case PacketEventKind::syn_retransmission: ++c.syn_retransmissions; break;
    case PacketEventKind::syn_ack_retransmission: ++c.syn_ack_retransmissions; break;
    case PacketEventKind::retransmission:
    case PacketEventKind::fast_retransmission:
    case PacketEventKind::spurious_retransmission:
    case PacketEventKind::tail_loss_probe:
      ++c.retransmissions;
      if (e.kind == PacketEventKind::fast_retransmission) ++c.fast_retransmissions;
      if (e.kind == PacketEventKind::spurious_retransmission) ++c.spurious_retransmissions;
      if (e.kind == PacketEventKind::tail_loss_probe) ++c.tail_loss_probes;
      c.max_retransmission_ordinal = std::max(c.max_retransmission_ordinal, e.ordinal);
      c.retransmission_gaps_ns.push_back(e.gap_ns);
      break;
    case PacketEventKind::out_of_order: ++c.out_of_order; break;
    case PacketEventKind::lost_segment: ++c.lost_segments; break;
    case PacketEventKind::ack_lost_segment: ++c.ack_lost_segments; break;
    case PacketEventKind::duplicate_ack: ++c.duplicate_acks; break;
    case PacketEventKind::keep_alive: ++c.keep_alives; break;
    case PacketEventKind::keep_alive_ack: ++c.keep_alive_acks; break;
    case PacketEventKind::zero_window: ++c.zero_windows; break;
    case PacketEventKind::zero_window_probe: ++c.zero_window_probes; break;
    case PacketEventKind::zero_window_probe_ack: ++c.zero_window_probe_acks; break;
    case PacketEventKind::window_update: ++c.window_updates; break;
    case PacketEventKind::fin: ++c.fins; break;
    case PacketEventKind::rst: ++c.rsts; break;
  }
}

}  // namespace

const char* to_string(PacketEventKind kind) {
  const int i = static_cast<int>(kind);
  return i >= 0 && i < kPacketEventKindCount ? kKindNames[static_cast<size_t>(i)] : "?";
}

std::optional<PacketEventKind> packet_event_kind_from_string(const std::string& name) {
  for (int i = 0; i < kPacketEventKindCount; ++i)
    if (name == kKindNames[static_cast<size_t>(i)]) return static_cast<PacketEventKind>(i);
  return std::nullopt;
}

const char* to_string(PacketDirection direction) {
  switch (direction) {
    case PacketDirection::sent: return "sent";
    case PacketDirection::received: return "received";
    case PacketDirection::forwarded: return "forwarded";
  }
  return "?";
}

const char* wireshark_field(uint32_t flag) {
  switch (flag) {
    case wf::kRetransmission: return "tcp.analysis.retransmission";
    case wf::kLostPacket: return "tcp.analysis.lost_segment";
    case wf::kAckLostPacket: return "tcp.analysis.ack_lost_segment";
    case wf::kKeepAlive: return "tcp.analysis.keep_alive";
    case wf::kDuplicateAck: return "tcp.analysis.duplicate_ack";
    case wf::kZeroWindow: return "tcp.analysis.zero_window";
    case wf::kZeroWindowProbe: return "tcp.analysis.zero_window_probe";
    case wf::kZeroWindowProbeAck: return "tcp.analysis.zero_window_probe_ack";
    case wf::kKeepAliveAck: return "tcp.analysis.keep_alive_ack";
    case wf::kOutOfOrder: return "tcp.analysis.out_of_order";
    case wf::kFastRetransmission: return "tcp.analysis.fast_retransmission";
    case wf::kWindowUpdate: return "tcp.analysis.window_update";
    case wf::kWindowFull: return "tcp.analysis.window_full";
    case wf::kReusedPorts: return "tcp.analysis.reused_ports";
    case wf::kSpuriousRetransmission: return "tcp.analysis.spurious_retransmission";
    default: return "";
  }
}

bool wireshark_shows(uint32_t flags, uint32_t flag) {
  // Fast and spurious retransmissions are also shown as tcp.analysis.retransmission
  // (tcp_sequence_number_analysis_print_retransmission adds both expert infos).
  if (flag == wf::kRetransmission)
    return (flags & (wf::kRetransmission | wf::kFastRetransmission | wf::kSpuriousRetransmission)) != 0;
  return (flags & flag) != 0;
}

PacketAnalysis analyze_packets(const std::vector<TcpPacket>& packets, const std::vector<IpAddress>& own,
                               const AnalysisOptions& options) {
  PacketAnalysis out;
  out.frames.resize(packets.size());
  std::vector<Conversation> convs;
  std::map<ConversationKey, size_t> current;  // the latest conversation of each 4-tuple
  const bool real_time = std::any_of(packets.begin(), packets.end(), [](const TcpPacket& p) { return p.real_ns != 0; });
  auto is_own = [&](const IpAddress& a) { return std::find(own.begin(), own.end(), a) != own.end(); };

  auto new_conversation = [&](const TcpPacket& p, PacketDirection dir, const std::string& ifname) {
    Conversation c;
    c.stream = static_cast<uint32_t>(convs.size());
    const bool src_local = dir != PacketDirection::received;
    c.local_address = src_local ? p.src : p.dst;
    c.local_port = src_local ? p.src_port : p.dst_port;
    FlowSummary s;
    s.flow = c.stream;
    s.local = endpoint_str(c.local_address, c.local_port);
    s.remote = src_local ? endpoint_str(p.dst, p.dst_port) : endpoint_str(p.src, p.src_port);
    s.ifname = ifname;
    s.first_mono_ns = p.mono_ns;
    c.summary = out.flows.size();
    out.flows.push_back(std::move(s));
    convs.push_back(std::move(c));
    return convs.size() - 1;
  };

  for (size_t i = 0; i < packets.size(); ++i) {
    const TcpPacket& p = packets[i];
    FrameAnalysis& fa = out.frames[i];
    const uint32_t frame = p.frame ? p.frame : static_cast<uint32_t>(i + 1);
    const int64_t now = real_time ? p.real_ns : p.mono_ns;
    PacketDirection dir = PacketDirection::forwarded;
    if (is_own(p.src)) dir = PacketDirection::sent;
    else if (is_own(p.dst)) dir = PacketDirection::received;
    const std::string split_ifname =
        dir == PacketDirection::forwarded && options.split_forwarded_by_interface && !own.empty() ? p.ifname : "";
    const ConversationKey key = key_of(p, split_ifname);

    auto found = current.find(key);
    size_t ci = found != current.end() ? found->second : (current[key] = new_conversation(p, dir, split_ifname));
    uint32_t ta = 0;
    const bool flow1 = is_flow1(p);
    auto sides = [&](size_t index) -> std::pair<FlowSide*, FlowSide*> {
      Conversation& c = convs[index];
      return flow1 ? std::pair{&c.flow1, &c.flow2} : std::pair{&c.flow2, &c.flow1};
    };
    auto [fwd, rev] = sides(ci);
    const uint32_t seq = p.seq, ack = p.ack, seglen = p.payload_len;
    const uint16_t flags = p.flags;

    // dissect_tcp(): a SYN with another ISN starts a new conversation on the same ports
    // (reused_ports); the same ISN again is left alone, to be found a retransmission. (Later
    // Wireshark versions also flag that one reused_ports and restore nextseq; 4.0 does not.)
    if ((flags & (kSyn | kAck)) == kSyn && (fwd->static_flags & kBaseSeqSet) && seq != fwd->base_seq) {
      ci = current[key] = new_conversation(p, dir, split_ifname);
      std::tie(fwd, rev) = sides(ci);
      ta |= wf::kReusedPorts;
    }
    if ((flags & (kSyn | kAck)) == (kSyn | kAck) && (fwd->static_flags & kBaseSeqSet) && seq != fwd->base_seq) {
      fwd->base_seq = seq;
      ta |= wf::kReusedPorts;
    }
    Conversation& conv = convs[ci];
    FlowSummary& summary = out.flows[conv.summary];
    fa.analysed = true;
    fa.flow = conv.stream;

    // What the refinements need from before this packet.
    const uint32_t pre_fwd_nextseq = fwd->nextseq, pre_fwd_lastack = fwd->lastack, pre_fwd_window = fwd->window;
    const uint32_t peer_window = rev->window;
    const bool peer_last_was_linux_zwp = rev->last_was_linux_zwp;

    analyze_sequence_number(conv, *fwd, *rev, frame, now, seq, ack, seglen, flags, p.window, ta, fa);

    if (flags & kSyn) {
      if (flags & kAck) {
        fwd->sack_permitted = p.options.sack_permitted;
      } else {
        conv.ts_mru_syn = now;
        fwd->sack_permitted = p.options.sack_permitted;
      }
      fwd->saw_syn = true;
    }
    if ((flags & (kSyn | kAck)) == kAck && conv.ts_mru_syn != 0 && conv.ts_first_rtt == 0)
      conv.ts_first_rtt = now - conv.ts_mru_syn;
    fa.wireshark_flags = ta;

    // ---- refinements: transmissions, ordinals, gaps, tail loss probes, Linux ZWPs ----
    PacketEvent base;
    base.mono_ns = p.mono_ns;
    base.frame = frame;
    base.direction = dir;
    base.flow = conv.stream;
    base.seq = seq - fwd->base_seq;
    base.ack = (flags & kAck) ? ack - rev->base_seq : 0;
    base.len = seglen;
    base.window = p.window;

    if (flags & kAck) {  // the peer's data acknowledged: progress for the peer's direction
      const int64_t acked = rev->unwrap(ack);
      if (acked > rev->acked) {
        rev->acked = acked;
        rev->retransmitted_since_progress = false;
        for (auto it = rev->sent.begin(); it != rev->sent.end() && it->first < acked;)
          it = it->second.end <= acked ? rev->sent.erase(it) : std::next(it);
      }
      if (rev->tlp_pending && acked >= rev->tlp_high) rev->tlp_pending = false;
    }

    const bool retrans_any =
        (ta & (wf::kRetransmission | wf::kFastRetransmission | wf::kSpuriousRetransmission)) != 0;
    const bool is_tx = (seglen > 0 || (flags & (kSyn | kFin))) && !(ta & (wf::kKeepAlive | wf::kZeroWindowProbe)) &&
                       !(flags & kRst);
    bool tail_loss_probe = false;
    int64_t since_last_send = -1;
    if (is_tx) {
      const int64_t start = (flags & kSyn) ? 0 : fwd->unwrap(seq);
      const int64_t end = start + seglen + ((flags & kSyn) ? 1 : 0) + ((flags & kFin) ? 1 : 0);
      const int64_t high_before = fwd->high;
      if (fwd->last_tx_mono != INT64_MIN) since_last_send = p.mono_ns - fwd->last_tx_mono;
      uint32_t previous = 0;
      int64_t previous_time = 0;
      auto it = fwd->sent.upper_bound(start);
      if (it != fwd->sent.begin()) {
        --it;
        if (start < it->second.end) {
          previous = it->second.count;
          previous_time = it->second.mono_ns;
        }
      }
      if (retrans_any) {
        base.ordinal = previous;
        base.gap_ns = previous ? p.mono_ns - previous_time : -1;
        const bool handshake_seen = fwd->saw_syn && rev->saw_syn;
        const bool sack = !handshake_seen || (fwd->sack_permitted && rev->sack_permitted);
        tail_loss_probe = options.linux_tail_loss_probe && (ta & wf::kRetransmission) && !(flags & kSyn) &&
                          end == high_before && previous == 1 && !fwd->retransmitted_since_progress &&
                          !fwd->tlp_pending && since_last_send >= kTlpMinimumGapNs && sack;
        if (!(flags & kSyn)) {
          fwd->retransmitted_since_progress = true;
          if (tail_loss_probe) {
            fwd->tlp_pending = true;
            fwd->tlp_high = high_before;
          } else if (ta & wf::kRetransmission) {
            fwd->tlp_pending = false;  // an RTO ends the probe's episode (tcp_retransmit_timer)
          }
        }
      }
      Transmission& t = fwd->sent[start];
      t.end = std::max(t.end, end);
      t.mono_ns = p.mono_ns;
      t.count = previous + 1;
      if (end > fwd->high) {
        fwd->high = end;
        if (end > high_before && !retrans_any) fwd->retransmitted_since_progress = false;
      }
      fwd->last_tx_mono = p.mono_ns;
    }
    const bool linux_zwp = (ta & wf::kKeepAlive) && peer_window == 0;
    // The answer to it repeats the zero window (as Wireshark's own zero_window_probe_ack); one
    // that opens the window is the window update it was waiting for.
    const bool linux_zwp_ack = !(ta & wf::kZeroWindowProbeAck) && peer_last_was_linux_zwp && seglen == 0 &&
                               p.window == 0 && pre_fwd_window == 0 && (flags & (kSyn | kFin | kRst)) == 0 &&
                               seq == pre_fwd_nextseq && ack == pre_fwd_lastack;
    fwd->last_was_linux_zwp = linux_zwp;

    // ---- events ----
    const bool from_local = p.src == conv.local_address && p.src_port == conv.local_port;
    DirectionCounts& counts = from_local ? summary.sent : summary.received;
    ++counts.packets;
    counts.payload_bytes += seglen;
    summary.last_mono_ns = p.mono_ns;
    auto emit = [&](PacketEventKind kind, std::string detail) {
      PacketEvent e = base;
      e.kind = kind;
      if (kind != PacketEventKind::retransmission && kind != PacketEventKind::fast_retransmission &&
          kind != PacketEventKind::spurious_retransmission && kind != PacketEventKind::tail_loss_probe &&
          kind != PacketEventKind::syn_retransmission && kind != PacketEventKind::syn_ack_retransmission) {
        e.ordinal = 0;
        e.gap_ns = -1;
      }
      e.detail = std::move(detail);
      count(counts, e);
      out.events.push_back(std::move(e));
    };
    auto ladder = [&](const char* what) {
      std::string d = what;
      if (base.ordinal) d += " #" + std::to_string(base.ordinal) + ", " + ms_text(base.gap_ns) + " after the previous";
      return d;
    };
    if (flags & kSyn) {
      const bool reused = ta & wf::kReusedPorts;
      if (flags & kAck) {
        if (retrans_any) emit(PacketEventKind::syn_ack_retransmission, ladder("SYN-ACK sent again"));
        else emit(PacketEventKind::syn_ack, reused ? "ports reused" : "");
      } else {
        if (retrans_any) emit(PacketEventKind::syn_retransmission, ladder("SYN sent again"));
        else emit(PacketEventKind::syn, reused ? "new connection on reused ports" : "");
      }
    } else if (retrans_any) {
      const char* fin = (flags & kFin) ? " (FIN)" : "";
      if (ta & wf::kFastRetransmission) {
        emit(PacketEventKind::fast_retransmission, ladder("after duplicate ACKs") + fin);
      } else if (ta & wf::kSpuriousRetransmission) {
        emit(PacketEventKind::spurious_retransmission, ladder("data already acknowledged") + fin);
      } else if (tail_loss_probe) {
        emit(PacketEventKind::tail_loss_probe,
             std::string("the highest segment again") + fin + ", " + ms_text(since_last_send) +
                 " after the last send (Linux TLP, before any RTO)");
      } else {
        emit(PacketEventKind::retransmission, ladder("retransmission") + fin);
      }
    }
    if ((flags & kFin) && !retrans_any) emit(PacketEventKind::fin, "");
    if (flags & kRst) emit(PacketEventKind::rst, (flags & kAck) ? "RST-ACK" : "");
    if (ta & wf::kOutOfOrder) emit(PacketEventKind::out_of_order, "");
    if (ta & wf::kLostPacket) emit(PacketEventKind::lost_segment, "previous segment not captured");
    if (ta & wf::kAckLostPacket) emit(PacketEventKind::ack_lost_segment, "acknowledges a segment not captured");
    if (ta & wf::kKeepAlive) {
      if (linux_zwp)
        emit(PacketEventKind::zero_window_probe, "seq = snd_una - 1 into a zero window (Wireshark: Keep-Alive)");
      else
        emit(PacketEventKind::keep_alive, "");
    }
    if (ta & wf::kZeroWindowProbe) emit(PacketEventKind::zero_window_probe, "one byte into a zero window");
    if (ta & wf::kKeepAliveAck) emit(PacketEventKind::keep_alive_ack, "");
    const bool zwp_ack = (ta & wf::kZeroWindowProbeAck) || linux_zwp_ack;
    if (zwp_ack)
      emit(PacketEventKind::zero_window_probe_ack,
           p.window == 0 ? "window still 0" : "window " + std::to_string(p.window));
    if ((ta & wf::kZeroWindow) && !zwp_ack) emit(PacketEventKind::zero_window, "");
    if (ta & wf::kWindowUpdate) emit(PacketEventKind::window_update, "window " + std::to_string(p.window));
    if (ta & wf::kDuplicateAck)
      emit(PacketEventKind::duplicate_ack,
           "#" + std::to_string(fa.duplicate_ack_num) + " of frame " + std::to_string(fa.duplicate_ack_frame));
  }
  return out;
}

}  // namespace sockchaos::harness
