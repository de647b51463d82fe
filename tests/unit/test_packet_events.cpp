// The TCP packet classifier against tshark (Wireshark 4.0) on committed captures, frame by
// frame, and its refinements (tail loss probes, Linux zero-window probes, the RTO ladder) on
// the recorded captures and on hand-made packets. Hermetic: no root, no tshark at test time
// (tshark's reading of each capture is saved next to it by tests/data/pcap/regen.sh).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/clock.hpp"
#include "tshark_tsv.hpp"

namespace sockchaos::harness {
namespace {

using sockchaos::testing::compare_with_tshark;
using sockchaos::testing::join_lines;
using sockchaos::testing::parse_tshark_tsv;
using sockchaos::testing::pcap_data_dir;
namespace wf = wireshark_flag;

const IpAddress kClient = *IpAddress::parse("198.18.0.1");
const IpAddress kServer = *IpAddress::parse("198.18.0.2");
const IpAddress kClient6 = *IpAddress::parse("2001:2::1");

// The capturing host's addresses, from the fixture's name: <scenario>.<client|server|synthetic>.
std::vector<IpAddress> own_of(const std::string& name) {
  if (name.find(".server") != std::string::npos) return {kServer};
  if (name.find(".synthetic") != std::string::npos) return {kClient, kClient6};
  return {kClient};
}

struct Fixture {
  std::vector<TcpPacket> packets;
  PacketAnalysis analysis;
  std::vector<std::string> parse_errors;
  testing::TsharkTable tshark;
};

Fixture load(const std::string& name) {
  Fixture f;
  const std::string base = pcap_data_dir() + "/" + name;
  auto file = read_pcap_file(base + ".pcap");
  EXPECT_TRUE(file.ok()) << (file.ok() ? "" : file.error().str());
  if (!file.ok()) return f;
  EXPECT_TRUE(file->nanosecond) << name;
  f.packets = testing::packets_of(*file, &f.parse_errors);
  f.analysis = analyze_packets(f.packets, own_of(name));
  std::ifstream in(base + ".expected.tsv");
  f.tshark = parse_tshark_tsv(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
  return f;
}

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(pcap_data_dir()))
    if (e.path().extension() == ".pcap") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<const PacketEvent*> events(const PacketAnalysis& a, PacketEventKind kind,
                                       std::optional<PacketDirection> dir = std::nullopt) {
  std::vector<const PacketEvent*> out;
  for (const auto& e : a.events)
    if (e.kind == kind && (!dir || e.direction == *dir)) out.push_back(&e);
  return out;
}

bool is_data_retransmission(PacketEventKind k) {
  return k == PacketEventKind::retransmission || k == PacketEventKind::tail_loss_probe ||
         k == PacketEventKind::fast_retransmission || k == PacketEventKind::spurious_retransmission;
}

// How late a TCP timer of this timeout can fire (HZ=250): the timer wheel's granularity at
// its level (kernel/time/timer.c: 1 jiffy under 64 jiffies, 8 under 512, 64 under 4096) plus
// two jiffies (usecs_to_jiffies rounds the timeout up, and expiry waits for the next tick).
int64_t late_bound_ns(int64_t timeout_ns) {
  const int64_t jiffy = 4 * kMillisecond, j = timeout_ns / jiffy;
  return (j < 63 ? jiffy : j < 504 ? 8 * jiffy : 64 * jiffy) + 2 * jiffy;
}

// ---- against tshark -------------------------------------------------------------------

TEST(PacketEventsVsTshark, EveryCommittedCaptureAgreesFrameByFrame) {
  const auto names = fixture_names();
  ASSERT_GE(names.size(), 17u) << "tests/data/pcap: 8 recorded scenarios x 2 hosts + the synthetic one";
  std::map<std::string, size_t> shown;
  size_t frames = 0, compared = 0;
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    Fixture f = load(name);
    EXPECT_TRUE(f.parse_errors.empty()) << join_lines(f.parse_errors);
    ASSERT_FALSE(f.tshark.rows.empty()) << "no " << name << ".expected.tsv (tests/data/pcap/regen.sh)";
    auto c = compare_with_tshark(f.tshark, f.packets, f.analysis);
    EXPECT_TRUE(c.mismatches.empty()) << join_lines(c.mismatches);
    EXPECT_EQ(c.frames, f.tshark.rows.size());
    frames += c.frames;
    compared += c.flags_compared;
    for (const auto& [field, n] : c.set_per_field) shown[field] += n;
  }
  // Every analysis flag implemented was set somewhere (and agreed with, frame by frame).
  for (const auto& [field, bit] : testing::analysis_fields()) EXPECT_GT(shown[field], 0u) << field;
  EXPECT_GT(frames, 250u);
  EXPECT_EQ(compared, frames * testing::analysis_fields().size());
}

TEST(PacketEventsVsTshark, RelativeSequenceNumbersAreWiresharks) {
  Fixture f = load("blackhole_burst.client");
  for (const auto& e : f.analysis.events) {
    const TcpPacket& p = f.packets[e.frame - 1];
    if (p.has(tcp_flag::kSyn)) {
      EXPECT_EQ(e.seq, 0u);
    }
    EXPECT_LT(e.seq, 100000u) << "relative to the ISN";
  }
}

// ---- the recorded scenarios, event by event ----------------------------------------------

TEST(PacketEvents, ExchangeWithFinClose) {
  for (const char* name : {"exchange_fin.client", "exchange_fin.server"}) {
    SCOPED_TRACE(name);
    Fixture f = load(name);
    ASSERT_EQ(f.analysis.flows.size(), 1u);
    const FlowSummary& flow = f.analysis.flows[0];
    const bool client = std::string(name).find("client") != std::string::npos;
    const DirectionCounts& from_client = client ? flow.sent : flow.received;
    const DirectionCounts& from_server = client ? flow.received : flow.sent;
    EXPECT_EQ(from_client.syns, 1u);
    EXPECT_EQ(from_server.syn_acks, 1u);
    EXPECT_EQ(from_client.fins, 1u);
    EXPECT_EQ(from_server.fins, 1u);
    EXPECT_EQ(from_client.payload_bytes, 1000u);
    EXPECT_EQ(from_server.payload_bytes, 3000u);
    EXPECT_EQ(flow.sent.retransmissions + flow.received.retransmissions, 0u);
    EXPECT_EQ(flow.local.rfind(client ? "198.18.0.1:" : "198.18.0.2:9000", 0), 0u) << flow.local;
    // The client's FIN comes first and is sent by the client.
    auto fins = events(f.analysis, PacketEventKind::fin);
    ASSERT_EQ(fins.size(), 2u);
    EXPECT_EQ(fins[0]->direction, client ? PacketDirection::sent : PacketDirection::received);
    EXPECT_LT(fins[0]->mono_ns, fins[1]->mono_ns);
  }
}

// One tail loss probe, then RTOs of the first unacknowledged segment, each gap twice the one
// before. The first counts from the segment's first send: after the probe, tcp_rearm_rto()
// keeps the RTO's deadline (tcp_rto_delta_us), it does not start a new one.
void expect_tlp_then_rto_ladder(const PacketAnalysis& a, PacketDirection dir, const std::vector<TcpPacket>& packets) {
  std::vector<const PacketEvent*> rx;
  for (const auto& e : a.events)
    if (e.direction == dir && is_data_retransmission(e.kind)) rx.push_back(&e);
  ASSERT_GE(rx.size(), 4u);
  const PacketEvent& tlp = *rx[0];
  EXPECT_EQ(tlp.kind, PacketEventKind::tail_loss_probe) << tlp.detail;
  EXPECT_EQ(tlp.ordinal, 1u);
  // It is the highest segment: nothing sent before it in its direction ends later.
  const TcpPacket& probe = packets[tlp.frame - 1];
  for (const auto& p : packets)
    if (p.frame < tlp.frame && p.src == probe.src && p.payload_len > 0) {
      EXPECT_LE(static_cast<int32_t>(p.seq + p.payload_len - (probe.seq + probe.payload_len)), 0) << "frame " << p.frame;
    }
  // The probe timeout: at least TCP_TIMEOUT_MIN_US + one jiffy of rounding, well under an RTO.
  EXPECT_GE(tlp.gap_ns, 2 * kMillisecond);
  EXPECT_LT(tlp.gap_ns, 200 * kMillisecond);
  std::vector<const PacketEvent*> rto(rx.begin() + 1, rx.end());
  for (size_t i = 0; i < rto.size(); ++i) {
    EXPECT_EQ(rto[i]->kind, PacketEventKind::retransmission) << i;
    EXPECT_EQ(rto[i]->ordinal, i + 1);
    EXPECT_EQ(rto[i]->seq, rto[0]->seq) << "the same segment again";
  }
  EXPECT_GE(rto[0]->gap_ns, 200 * kMillisecond) << "TCP_RTO_MIN";
  for (size_t i = 1; i < rto.size(); ++i) {
    const int64_t previous = rto[i - 1]->gap_ns, gap = rto[i]->gap_ns;
    EXPECT_GE(gap, 2 * previous - 2 * late_bound_ns(previous)) << i;
    EXPECT_LE(gap, 2 * previous + late_bound_ns(gap)) << i;
  }
}

TEST(PacketEvents, BlackholedBurstShowsATailLossProbeThenTheRtoLadder) {
  Fixture c = load("blackhole_burst.client");
  expect_tlp_then_rto_ladder(c.analysis, PacketDirection::sent, c.packets);
  ASSERT_EQ(c.analysis.flows.size(), 1u);
  const FlowSummary& flow = c.analysis.flows[0];
  EXPECT_EQ(flow.sent.tail_loss_probes, 1u);
  EXPECT_GE(flow.sent.max_retransmission_ordinal, 3u);
  EXPECT_EQ(flow.sent.retransmission_gaps_ns.size(), flow.sent.retransmissions);
  // Wireshark calls the probe a plain retransmission; only the event says TLP.
  const auto tlp = events(c.analysis, PacketEventKind::tail_loss_probe);
  ASSERT_EQ(tlp.size(), 1u);
  EXPECT_EQ(c.analysis.frames[tlp[0]->frame - 1].wireshark_flags & wf::kRetransmission, wf::kRetransmission);
  // The server's capture sees the same packets arrive (before its nftables drop).
  Fixture s = load("blackhole_burst.server");
  expect_tlp_then_rto_ladder(s.analysis, PacketDirection::received, s.packets);
}

TEST(PacketEvents, BusySenderProbesWithNewDataThenBacksOff) {
  Fixture f = load("blackhole_busy.client");
  EXPECT_TRUE(events(f.analysis, PacketEventKind::tail_loss_probe).empty())
      << "the loss probe carried new data: not a retransmission on the wire";
  auto rto = events(f.analysis, PacketEventKind::retransmission, PacketDirection::sent);
  ASSERT_GE(rto.size(), 3u);
  for (size_t i = 0; i < rto.size(); ++i) EXPECT_EQ(rto[i]->ordinal, i + 1);
  for (size_t i = 2; i < rto.size(); ++i) {
    EXPECT_GE(rto[i]->gap_ns, 2 * rto[i - 1]->gap_ns - 2 * late_bound_ns(rto[i - 1]->gap_ns));
    EXPECT_LE(rto[i]->gap_ns, 2 * rto[i - 1]->gap_ns + late_bound_ns(rto[i]->gap_ns));
  }
}

TEST(PacketEvents, KeepAliveProbesAnsweredThenUnansweredThenReset) {
  Fixture f = load("keepalive.client");
  ASSERT_GE(f.analysis.flows.size(), 1u);
  const FlowSummary& flow = f.analysis.flows[0];
  EXPECT_EQ(flow.keep_alive_probes_sent(), 5u) << "two answered, then TCP_KEEPCNT=3 unanswered";
  EXPECT_EQ(flow.keep_alive_probes_answered(), 2u);
  EXPECT_GE(flow.sent.rsts, 1u) << "tcp_keepalive_timer resets the connection when it gives up";
  auto ka = events(f.analysis, PacketEventKind::keep_alive, PacketDirection::sent);
  ASSERT_EQ(ka.size(), 5u);
  // TCP_KEEPIDLE = TCP_KEEPINTVL = 1 s: one probe a second (timer wheel: 1 s is 250 jiffies).
  for (size_t i = 1; i < ka.size(); ++i) {
    const int64_t gap = ka[i]->mono_ns - ka[i - 1]->mono_ns;
    EXPECT_GE(gap, kSecond - late_bound_ns(kSecond)) << i;
    EXPECT_LE(gap, kSecond + late_bound_ns(kSecond)) << i;
  }
  // The reset comes one interval after the last probe.
  auto rst = events(f.analysis, PacketEventKind::rst, PacketDirection::sent);
  ASSERT_FALSE(rst.empty());
  EXPECT_GE(rst[0]->mono_ns - ka.back()->mono_ns, kSecond - late_bound_ns(kSecond));
  Fixture s = load("keepalive.server");
  EXPECT_EQ(events(s.analysis, PacketEventKind::keep_alive, PacketDirection::received).size(), 5u);
  EXPECT_EQ(events(s.analysis, PacketEventKind::keep_alive_ack, PacketDirection::sent).size(), 2u);
}

TEST(PacketEvents, LinuxZeroWindowProbesAreNotKeepAlives) {
  Fixture f = load("zero_window.client");
  auto zwp = events(f.analysis, PacketEventKind::zero_window_probe, PacketDirection::sent);
  ASSERT_GE(zwp.size(), 2u);
  EXPECT_TRUE(events(f.analysis, PacketEventKind::keep_alive).empty());
  for (const auto* e : zwp) {
    // Wireshark 4.0 calls them keep-alives: seq = snd_una - 1, no data.
    EXPECT_TRUE(f.analysis.frames[e->frame - 1].wireshark_flags & wf::kKeepAlive);
    EXPECT_EQ(e->len, 0u);
  }
  // tcp_probe_timer backs off: each interval about twice the one before.
  for (size_t i = 2; i < zwp.size(); ++i) {
    const int64_t a = zwp[i - 1]->mono_ns - zwp[i - 2]->mono_ns, b = zwp[i]->mono_ns - zwp[i - 1]->mono_ns;
    EXPECT_GE(b, 2 * a - 2 * late_bound_ns(a));
    EXPECT_LE(b, 2 * a + late_bound_ns(b));
  }
  const auto acks = events(f.analysis, PacketEventKind::zero_window_probe_ack, PacketDirection::received);
  EXPECT_GE(acks.size(), 1u);
  for (const auto* a : acks) EXPECT_EQ(a->window, 0u) << "the answer repeats the zero window";
  EXPECT_EQ(events(f.analysis, PacketEventKind::window_update, PacketDirection::received).size(), 1u);
  EXPECT_GE(events(f.analysis, PacketEventKind::zero_window, PacketDirection::received).size(), 1u);
  const FlowSummary& flow = f.analysis.flows.at(0);
  EXPECT_EQ(flow.zero_window_probes_sent(), zwp.size());
  EXPECT_EQ(flow.zero_window_probes_answered(), acks.size());
}

TEST(PacketEvents, ResetsSentAndReceived) {
  Fixture f = load("resets.client");
  ASSERT_EQ(f.analysis.flows.size(), 2u);
  const auto& refused = f.analysis.flows[0];
  EXPECT_EQ(refused.remote, "198.18.0.2:9001");
  EXPECT_EQ(refused.received.rsts, 1u);
  EXPECT_EQ(refused.sent.rsts, 0u);
  const auto& aborted = f.analysis.flows[1];
  EXPECT_EQ(aborted.sent.rsts, 1u) << "SO_LINGER 0";
  EXPECT_EQ(aborted.received.rsts, 0u);
  auto rst = events(f.analysis, PacketEventKind::rst);
  ASSERT_EQ(rst.size(), 2u);
  EXPECT_EQ(rst[0]->direction, PacketDirection::received);
  EXPECT_EQ(rst[1]->direction, PacketDirection::sent);
}

TEST(PacketEvents, SynRetransmissionsOneSecondApart) {
  Fixture f = load("syn_blackhole.client");
  EXPECT_EQ(events(f.analysis, PacketEventKind::syn, PacketDirection::sent).size(), 1u);
  auto rx = events(f.analysis, PacketEventKind::syn_retransmission, PacketDirection::sent);
  ASSERT_GE(rx.size(), 2u);
  // net.ipv4.tcp_syn_linear_timeouts (4 by default): the first retries do not back off.
  for (size_t i = 0; i < rx.size(); ++i) {
    EXPECT_EQ(rx[i]->ordinal, i + 1);
    EXPECT_GE(rx[i]->gap_ns, kSecond - late_bound_ns(kSecond));
    EXPECT_LE(rx[i]->gap_ns, kSecond + late_bound_ns(kSecond));
  }
  EXPECT_EQ(f.analysis.flows.at(0).sent.syn_retransmissions, rx.size());
}

TEST(PacketEvents, SynAckRetransmissionsSeenByTheServer) {
  Fixture f = load("synack_lost.server");
  EXPECT_EQ(events(f.analysis, PacketEventKind::syn, PacketDirection::received).size(), 1u);
  EXPECT_GE(events(f.analysis, PacketEventKind::syn_retransmission, PacketDirection::received).size(), 2u);
  EXPECT_EQ(events(f.analysis, PacketEventKind::syn_ack, PacketDirection::sent).size(), 1u);
  auto rx = events(f.analysis, PacketEventKind::syn_ack_retransmission, PacketDirection::sent);
  ASSERT_GE(rx.size(), 2u);
  for (size_t i = 0; i < rx.size(); ++i) EXPECT_EQ(rx[i]->ordinal, i + 1);
  const FlowSummary& flow = f.analysis.flows.at(0);
  EXPECT_EQ(flow.local, "198.18.0.2:9000");
  EXPECT_EQ(flow.sent.syn_ack_retransmissions, rx.size());
}

TEST(PacketEvents, SyntheticRulesBecomeEvents) {
  Fixture f = load("wireshark_rules.synthetic");
  auto kinds_at = [&](uint32_t frame) {
    std::set<PacketEventKind> k;
    for (const auto& e : f.analysis.events)
      if (e.frame == frame) k.insert(e.kind);
    return k;
  };
  using K = PacketEventKind;
  EXPECT_TRUE(kinds_at(5).count(K::lost_segment));
  EXPECT_TRUE(kinds_at(8).count(K::duplicate_ack));
  EXPECT_TRUE(kinds_at(10).count(K::fast_retransmission));
  EXPECT_TRUE(kinds_at(20).count(K::out_of_order));
  EXPECT_TRUE(kinds_at(22).count(K::ack_lost_segment));
  EXPECT_TRUE(kinds_at(23).count(K::duplicate_ack));
  EXPECT_TRUE(kinds_at(25).count(K::spurious_retransmission));
  EXPECT_TRUE(kinds_at(31).count(K::zero_window));
  EXPECT_TRUE(kinds_at(32).count(K::zero_window_probe));
  EXPECT_EQ(kinds_at(33), std::set<K>{K::zero_window_probe_ack}) << "not also a zero_window event";
  EXPECT_TRUE(kinds_at(36).count(K::window_update));
  EXPECT_TRUE(kinds_at(39).count(K::keep_alive)) << "a one-byte keep-alive";
  EXPECT_TRUE(kinds_at(40).count(K::keep_alive_ack));
  EXPECT_TRUE(kinds_at(42).empty()) << "new data from one byte below nextseq";
  EXPECT_TRUE(kinds_at(52).count(K::syn));
  EXPECT_TRUE(kinds_at(53).count(K::syn_retransmission));
  EXPECT_TRUE(kinds_at(56).count(K::rst));
  EXPECT_TRUE(kinds_at(62).count(K::keep_alive)) << "IPv6";
  // An RTO-like retransmission of the highest segment of an idle SACK flow: Linux's TLP.
  EXPECT_TRUE(kinds_at(65).count(K::tail_loss_probe));
  // Mid-connection (no iRTT): 3 ms decides out-of-order against retransmission.
  EXPECT_TRUE(kinds_at(73).count(K::out_of_order));
  EXPECT_TRUE(kinds_at(74).count(K::retransmission)) << "not the highest segment: no TLP";
  EXPECT_EQ(kinds_at(78), std::set<K>{K::rst});
  // Ports reused with a new ISN: a new flow (tcp.stream), its own counts.
  EXPECT_NE(f.analysis.frames[51].flow, f.analysis.frames[50].flow);
  EXPECT_EQ(f.analysis.frames[52].flow, f.analysis.frames[51].flow);
  EXPECT_EQ(f.analysis.flows.size(), 9u);
  EXPECT_EQ(f.analysis.flows[4].sent.syns, 1u);
  EXPECT_EQ(f.analysis.flows[4].sent.syn_retransmissions, 1u);
  EXPECT_EQ(f.analysis.flows[5].local, "[2001:2::1]:40005");
  // The GSO frame with IPv4 length 0: its length from the frame.
  EXPECT_EQ(f.packets.at(68).payload_len, 70000u);
}

// ---- hand-made packets: the tail loss probe rule, case by case -------------------------

struct Wire {
  std::vector<TcpPacket> packets;
  uint32_t isn_a = 1000, isn_b = 5000;
  // A (198.18.0.1:40000, own) <-> B (198.18.0.2:9000); seq/ack relative to the ISNs.
  void add(double t_ms, bool from_a, uint32_t seq, uint32_t ack, uint16_t flags, uint32_t len, bool sack = true,
           const std::string& ifname = "sc0") {
    TcpPacket p;
    p.frame = static_cast<uint32_t>(packets.size() + 1);
    p.mono_ns = p.real_ns = 1700000000LL * kSecond + static_cast<int64_t>(t_ms * 1e6);
    p.ifname = ifname;
    p.src = from_a ? kClient : kServer;
    p.dst = from_a ? kServer : kClient;
    p.src_port = from_a ? 40000 : 9000;
    p.dst_port = from_a ? 9000 : 40000;
    p.seq = (from_a ? isn_a : isn_b) + seq;
    p.ack = (flags & tcp_flag::kAck) ? (from_a ? isn_b : isn_a) + ack : 0;
    p.flags = flags;
    p.window = 500;
    p.header_len = 20;
    p.payload_len = len;
    p.options.sack_permitted = sack && (flags & tcp_flag::kSyn);
    packets.push_back(p);
  }
  void handshake(bool sack = true) {
    add(0, true, 0, 0, tcp_flag::kSyn, 0, sack);
    add(1, false, 0, 1, tcp_flag::kSyn | tcp_flag::kAck, 0, sack);
    add(2, true, 1, 1, tcp_flag::kAck, 0);
  }
  // Two segments at 10 ms, nothing acknowledged.
  void burst() {
    add(10, true, 1, 1, tcp_flag::kAck, 1000);
    add(10.01, true, 1001, 1, tcp_flag::kAck | tcp_flag::kPsh, 1000);
  }
};

constexpr uint16_t kAckFlag = tcp_flag::kAck;

std::vector<PacketEventKind> kinds_of(const PacketAnalysis& a, uint32_t frame) {
  std::vector<PacketEventKind> k;
  for (const auto& e : a.events)
    if (e.frame == frame) k.push_back(e.kind);
  return k;
}

TEST(TailLossProbe, TheFirstRetransmissionOfTheHighestSegmentBeforeAnyRto) {
  Wire w;
  w.handshake();
  w.burst();
  w.add(15, true, 1001, 1, kAckFlag, 1000);   // 6: PTO after the last send
  w.add(215, true, 1, 1, kAckFlag, 1000);     // 7: RTO of snd_una
  w.add(615, true, 1, 1, kAckFlag, 1000);     // 8: RTO, backed off
  auto a = analyze_packets(w.packets, {kClient});
  EXPECT_EQ(kinds_of(a, 6), std::vector{PacketEventKind::tail_loss_probe});
  EXPECT_EQ(kinds_of(a, 7), std::vector{PacketEventKind::retransmission});
  EXPECT_EQ(kinds_of(a, 8), std::vector{PacketEventKind::retransmission});
  const auto& e = a.events;
  auto at = [&](uint32_t frame) {
    for (const auto& x : e)
      if (x.frame == frame) return x;
    return PacketEvent{};
  };
  EXPECT_EQ(at(6).ordinal, 1u);
  EXPECT_EQ(at(6).gap_ns, 4990 * kMicrosecond);
  EXPECT_EQ(at(7).ordinal, 1u);
  EXPECT_EQ(at(7).gap_ns, 205 * kMillisecond);
  EXPECT_EQ(at(8).ordinal, 2u);
  EXPECT_EQ(at(8).gap_ns, 400 * kMillisecond);
  EXPECT_EQ(a.flows[0].sent.retransmission_gaps_ns,
            (std::vector<int64_t>{4990 * kMicrosecond, 205 * kMillisecond, 400 * kMillisecond}));
}

TEST(TailLossProbe, NotWithoutSack) {
  Wire w;
  w.handshake(/*sack=*/false);
  w.burst();
  w.add(15, true, 1001, 1, kAckFlag, 1000);
  auto a = analyze_packets(w.packets, {kClient});
  EXPECT_EQ(kinds_of(a, 6), std::vector{PacketEventKind::retransmission}) << "tcp_is_sack() is false";
}

TEST(TailLossProbe, NotWhenTheSenderIsNotLinuxWithTlp) {
  Wire w;
  w.handshake();
  w.burst();
  w.add(15, true, 1001, 1, kAckFlag, 1000);
  AnalysisOptions o;
  o.linux_tail_loss_probe = false;
  auto a = analyze_packets(w.packets, {kClient}, o);
  EXPECT_EQ(kinds_of(a, 6), std::vector{PacketEventKind::retransmission});
}

TEST(TailLossProbe, NotTheLowestSegmentNorALaterRetransmission) {
  Wire w;
  w.handshake();
  w.burst();
  w.add(215, true, 1, 1, kAckFlag, 1000);     // 6: RTO of snd_una first
  w.add(220, true, 1001, 1, kAckFlag, 1000);  // 7: the tail, but not first in the episode
  auto a = analyze_packets(w.packets, {kClient});
  EXPECT_EQ(kinds_of(a, 6), std::vector{PacketEventKind::retransmission});
  EXPECT_EQ(kinds_of(a, 7), std::vector{PacketEventKind::retransmission});
}

TEST(TailLossProbe, NotSoonerThanTheMinimumProbeTimeout) {
  Wire w;
  w.handshake();
  w.burst();
  w.add(11, true, 1001, 1, kAckFlag, 1000);  // 0.99 ms after the last send: < TCP_TIMEOUT_MIN_US
  auto a = analyze_packets(w.packets, {kClient});
  EXPECT_EQ(kinds_of(a, 6), std::vector{PacketEventKind::retransmission});
}

TEST(TailLossProbe, OnePerEpisodeAndAgainAfterProgress) {
  Wire w;
  w.handshake();
  w.burst();
  w.add(15, true, 1001, 1, kAckFlag, 1000);     // 6: TLP
  w.add(16, false, 1, 2001, kAckFlag, 0);       // 7: everything acknowledged: episode over
  w.add(30, true, 2001, 1, kAckFlag, 500);      // 8: new data
  w.add(40, true, 2001, 1, kAckFlag, 500);      // 9: a probe again
  w.add(250, true, 2001, 1, kAckFlag, 500);     // 10: its RTO
  auto a = analyze_packets(w.packets, {kClient});
  EXPECT_EQ(kinds_of(a, 6), std::vector{PacketEventKind::tail_loss_probe});
  EXPECT_EQ(kinds_of(a, 9), std::vector{PacketEventKind::tail_loss_probe});
  EXPECT_EQ(kinds_of(a, 10), std::vector{PacketEventKind::retransmission});
  EXPECT_EQ(a.flows[0].sent.tail_loss_probes, 2u);
}

// ---- other refinements ----------------------------------------------------------------

TEST(PacketEvents, ForwardedCopiesAreAnalysedPerInterface) {
  // A router sees each segment arrive on sc0 and leave on sc1.
  Wire w;
  auto both = [&](double t, bool from_a, uint32_t seq, uint32_t ack, uint16_t flags, uint32_t len) {
    w.add(t, from_a, seq, ack, flags, len, true, from_a ? "sc0" : "sc1");
    w.add(t + 0.01, from_a, seq, ack, flags, len, true, from_a ? "sc1" : "sc0");
  };
  both(0, true, 0, 0, tcp_flag::kSyn, 0);
  both(1, false, 0, 1, tcp_flag::kSyn | kAckFlag, 0);
  both(2, true, 1, 1, kAckFlag, 0);
  both(3, true, 1, 1, kAckFlag, 100);
  const IpAddress router = *IpAddress::parse("198.18.0.5");
  auto a = analyze_packets(w.packets, {router});
  EXPECT_EQ(a.flows.size(), 2u);
  for (const auto& e : a.events) {
    EXPECT_EQ(e.direction, PacketDirection::forwarded);
    EXPECT_FALSE(is_data_retransmission(e.kind) || e.kind == PacketEventKind::syn_retransmission) << e.frame;
  }
  EXPECT_EQ(a.flows[0].local, "198.18.0.1:40000") << "who sent first";
  // One file in Wireshark: the second copies look like retransmissions.
  AnalysisOptions one_file;
  one_file.split_forwarded_by_interface = false;
  auto b = analyze_packets(w.packets, {router}, one_file);
  EXPECT_EQ(b.flows.size(), 1u);
  EXPECT_TRUE(b.frames[1].wireshark_flags & wf::kRetransmission);
}

TEST(PacketEvents, KindNamesRoundTrip) {
  std::set<std::string> seen;
  for (int i = 0; i < kPacketEventKindCount; ++i) {
    const auto kind = static_cast<PacketEventKind>(i);
    const std::string name = to_string(kind);
    EXPECT_TRUE(seen.insert(name).second) << name;
    EXPECT_EQ(packet_event_kind_from_string(name), kind);
  }
  EXPECT_EQ(std::string(to_string(PacketEventKind::tail_loss_probe)), "tail_loss_probe");
  EXPECT_FALSE(packet_event_kind_from_string("tlp"));
  EXPECT_EQ(std::string(to_string(PacketDirection::received)), "received");
  EXPECT_EQ(std::string(wireshark_field(wf::kZeroWindowProbeAck)), "tcp.analysis.zero_window_probe_ack");
}

TEST(PacketEvents, EmptyAndUnparsedInput) {
  auto a = analyze_packets({}, {kClient});
  EXPECT_TRUE(a.events.empty());
  EXPECT_TRUE(a.flows.empty());
}

}  // namespace
}  // namespace sockchaos::harness
