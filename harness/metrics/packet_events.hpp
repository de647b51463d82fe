// One host's captured TCP packets -> classified events, the way Wireshark's TCP analysis sees
// them, so a timeline speaks the words users know ("TCP Retransmission", "TCP Keep-Alive"...).
//
// Wireshark compatibility. analyze_packets() follows tcp_analyze_sequence_number() and the
// conversation handling of dissect_tcp() in epan/dissectors/packet-tcp.c (Wireshark 4.0, the
// tshark of Debian 12 that the tests compare against): the same per-direction state (nextseq,
// lastack, window, maxseqtobeacked, dup-ACK counter, the list of unacknowledged segments), the
// same tests in the same order, the same uint32 sequence arithmetic, the same 3 ms / iRTT
// out-of-order threshold and 20 ms fast-retransmission window, the same new conversation
// when a SYN reuses the ports with another ISN. FrameAnalysis::wireshark_flags carries the
// result bit for bit (tcp.analysis.*). Not reproduced: window_full (needs the window-scale
// bookkeeping, not asked for), bytes in flight, MPTCP, reassembly.
//
// Refinements over Wireshark (in the events only; wireshark_flags stay Wireshark's):
//  - Zero-window probes as Linux sends them: tcp_write_wakeup() -> tcp_xmit_probe_skb() sends
//    seq = snd_una - 1 with no data (net/ipv4/tcp_output.c), which Wireshark calls a
//    Keep-Alive. A keep-alive-shaped segment sent while the peer's last advertised window is
//    0 is a zero_window_probe here, and the peer's reply to it a zero_window_probe_ack.
//  - Tail loss probes (Linux TLP, RFC 8985 section 7; tcp_schedule_loss_probe() and
//    tcp_send_loss_probe() in net/ipv4/tcp_output.c): when nothing new can be sent, the loss
//    probe timer (PTO = 2*SRTT + 2 ms, or + tcp_rto_min when one segment is in flight,
//    capped at the time left to the RTO) retransmits the highest-sequence segment once, before
//    any RTO. Rule here: a retransmission (Wireshark's plain kind, not fast/spurious) is a
//    tail_loss_probe when (1) it ends at the highest sequence its direction has sent, (2) it
//    is that segment's first retransmission, (3) it is the first retransmission of its
//    direction since the last new data it sent or the last ACK from the peer that advanced
//    (one probe per episode: tlp_high_seq), (4) it comes at least TCP_TIMEOUT_MIN_US (2 ms)
//    after the direction's previous transmission, and (5) the handshake, if captured,
//    negotiated SACK (Linux arms the probe only for SACK connections, and only with
//    net.ipv4.tcp_early_retrans 3 or 4, the default: AnalysisOptions::linux_tail_loss_probe).
//    A probe that carries new data (the sender still had data within the peer's window) is
//    new data on the wire and is not marked.
//  - Every retransmission (data, FIN, SYN, SYN-ACK) carries its ordinal (1 = first
//    retransmission of that sequence) and the gap since the previous transmission of it:
//    the RTO ladder (200, 400, 800 ms ...; after a TLP: PTO, RTO, 2 RTO ...).
//  - A host forwarding packets sees each of them on two interfaces; its forwarded flows are
//    analysed per interface (each interface is one observation point), where Wireshark,
//    reading one file, would call the second copy a retransmission.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/metrics/tcp_packet.hpp"

namespace sockchaos::harness {

// Wireshark's TCP_A_* bits (packet-tcp.h), the tcp.analysis.* fields.
namespace wireshark_flag {
inline constexpr uint32_t kRetransmission = 0x0001, kLostPacket = 0x0002, kAckLostPacket = 0x0004,
                          kKeepAlive = 0x0008, kDuplicateAck = 0x0010, kZeroWindow = 0x0020,
                          kZeroWindowProbe = 0x0040, kZeroWindowProbeAck = 0x0080, kKeepAliveAck = 0x0100,
                          kOutOfOrder = 0x0200, kFastRetransmission = 0x0400, kWindowUpdate = 0x0800,
                          kWindowFull = 0x1000, kReusedPorts = 0x2000, kSpuriousRetransmission = 0x4000;
}

enum class PacketEventKind {
  syn,
  syn_ack,
  syn_retransmission,
  syn_ack_retransmission,
  retransmission,
  fast_retransmission,
  spurious_retransmission,
  tail_loss_probe,
  out_of_order,
  lost_segment,       // tcp.analysis.lost_segment: "previous segment not captured"
  ack_lost_segment,   // tcp.analysis.ack_lost_segment: "ACKed segment that wasn't captured"
  duplicate_ack,
  keep_alive,
  keep_alive_ack,
  zero_window,
  zero_window_probe,
  zero_window_probe_ack,
  window_update,
  fin,
  rst,
};
inline constexpr int kPacketEventKindCount = static_cast<int>(PacketEventKind::rst) + 1;

const char* to_string(PacketEventKind kind);  // "tail_loss_probe"
std::optional<PacketEventKind> packet_event_kind_from_string(const std::string& name);

// Relative to the capturing host: it sent the packet, received it (arrived at its interface,
// which a drop at its ingress does not undo), or forwarded it (neither address is its own).
enum class PacketDirection { sent, received, forwarded };
const char* to_string(PacketDirection direction);

struct PacketEvent {
  int64_t mono_ns = 0;
  uint32_t frame = 0;  // TcpPacket::frame
  PacketEventKind kind = PacketEventKind::syn;
  PacketDirection direction = PacketDirection::sent;
  uint32_t flow = 0;        // FlowSummary::flow (Wireshark's tcp.stream on an end host)
  uint32_t seq = 0;         // relative to the direction's ISN, as Wireshark shows them
  uint32_t ack = 0;         // relative to the peer's ISN (0 without ACK)
  uint32_t len = 0;         // payload bytes
  uint32_t window = 0;      // as sent, not scaled
  uint32_t ordinal = 0;     // retransmissions: 1 = the first retransmission of this sequence
  int64_t gap_ns = -1;      // retransmissions: since the previous transmission of it
  std::string detail;       // a short human-readable explanation
};

struct DirectionCounts {
  uint64_t packets = 0, payload_bytes = 0;
  uint64_t syns = 0, syn_acks = 0, syn_retransmissions = 0, syn_ack_retransmissions = 0;
  uint64_t retransmissions = 0;  // of data or FIN: plain + fast + spurious + tail loss probes
  uint64_t fast_retransmissions = 0, spurious_retransmissions = 0, tail_loss_probes = 0;
  uint32_t max_retransmission_ordinal = 0;
  std::vector<int64_t> retransmission_gaps_ns;  // each data/FIN retransmission's gap, in order
  uint64_t keep_alives = 0, keep_alive_acks = 0;
  uint64_t zero_windows = 0, zero_window_probes = 0, zero_window_probe_acks = 0, window_updates = 0;
  uint64_t duplicate_acks = 0, out_of_order = 0, lost_segments = 0, ack_lost_segments = 0;
  uint64_t fins = 0, rsts = 0;
};

struct FlowSummary {
  uint32_t flow = 0;
  std::string local, remote;  // "198.18.0.1:40000"; for a forwarded flow, local = who sent first
  std::string ifname;         // forwarded flows only: the interface it was analysed on
  int64_t first_mono_ns = 0, last_mono_ns = 0;
  DirectionCounts sent, received;  // from local, to local
  // Convenience for the mechanism step: keep-alive probes local sent, and how many the peer
  // answered (a keep_alive_ack follows the probe it answers); same for zero-window probes.
  uint64_t keep_alive_probes_sent() const { return sent.keep_alives; }
  uint64_t keep_alive_probes_answered() const { return received.keep_alive_acks; }
  uint64_t zero_window_probes_sent() const { return sent.zero_window_probes; }
  uint64_t zero_window_probes_answered() const { return received.zero_window_probe_acks; }
};

struct FrameAnalysis {
  bool analysed = false;        // parsed as TCP and analysed
  uint32_t flow = 0;
  uint32_t wireshark_flags = 0;   // wireshark_flag bits as Wireshark sets them (see wireshark_shows)
  uint32_t duplicate_ack_num = 0;     // tcp.analysis.duplicate_ack_num
  uint32_t duplicate_ack_frame = 0;   // tcp.analysis.duplicate_ack_frame
};

struct PacketAnalysis {
  std::vector<PacketEvent> events;   // in time (input) order
  std::vector<FlowSummary> flows;    // by flow id
  std::vector<FrameAnalysis> frames; // one per input packet, same index
};

struct AnalysisOptions {
  bool linux_tail_loss_probe = true;  // the sender is Linux with tcp_early_retrans 3 or 4
  bool split_forwarded_by_interface = true;
};

// packets: one host's capture in capture order (frame = 1, 2, ...), already parsed; own:
// the host's addresses (they decide sent / received / forwarded).
PacketAnalysis analyze_packets(const std::vector<TcpPacket>& packets, const std::vector<IpAddress>& own,
                               const AnalysisOptions& options = {});

// The tcp.analysis.* field name of a single Wireshark flag bit ("tcp.analysis.retransmission").
const char* wireshark_field(uint32_t flag);
// Whether tshark shows the field of `flag` for a frame with these flags: as Wireshark does,
// fast and spurious retransmissions also show tcp.analysis.retransmission.
bool wireshark_shows(uint32_t flags, uint32_t flag);

}  // namespace sockchaos::harness
