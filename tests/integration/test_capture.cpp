// Packet captures (netns::CaptureSet) in real namespaces, with tshark as the independent oracle:
// packet counts, timestamps, parsed headers and the TCP classification, frame by frame.
#include <dirent.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "../unit/tshark_tsv.hpp"
#include "capture_cell.hpp"
#include "harness/metrics/packet_events.hpp"
#include "harness/metrics/tcp_packet.hpp"
#include "netns/link.hpp"

using namespace sockchaos;
using namespace sockchaos::testing;
using harness::PacketEventKind;

namespace {

#define SKIP_UNLESS_TSHARK()                                                             \
  do {                                                                                   \
    int st_ = -1;                                                                        \
    sh("tshark -v >/dev/null 2>&1", &st_);                                               \
    if (st_ != 0) GTEST_SKIP() << "tshark is not installed (scripts/deps.sh test installs it)"; \
  } while (0)

std::vector<harness::TcpPacket> parsed(const netns::HostCapture& h) {
  std::vector<harness::TcpPacket> out;
  for (size_t i = 0; i < h.packets().size(); ++i) {
    const auto& c = h.packets()[i];
    auto p = harness::parse_tcp_packet(c.bytes.data(), c.bytes.size(), c.wire_len, c.linktype);
    if (!p.ok()) continue;
    p->frame = static_cast<uint32_t>(i + 1);
    p->mono_ns = c.mono_ns;
    p->real_ns = c.real_ns;
    p->ifname = c.ifname;
    out.push_back(std::move(p.value()));
  }
  return out;
}

harness::PacketAnalysis analyse(const netns::HostCapture& h, const std::string& own) {
  return harness::analyze_packets(parsed(h), {*harness::IpAddress::parse(own)});
}

// Temp folder removed at scope end (nothing left behind).
struct CaptureDir {
  sockchaos::testing::TempDir path = make_temp_dir("capture");
};

std::vector<const harness::PacketEvent*> events_of(const harness::PacketAnalysis& a, harness::PacketDirection d,
                                                   std::initializer_list<PacketEventKind> kinds) {
  std::vector<const harness::PacketEvent*> out;
  for (const auto& e : a.events)
    if (e.direction == d && std::find(kinds.begin(), kinds.end(), e.kind) != kinds.end()) out.push_back(&e);
  return out;
}

// How late a TCP timer of this timeout can fire (HZ=250): the timer wheel's granularity at
// its level (kernel/time/timer.c: 1 jiffy under 64 jiffies, 8 under 512, 64 under 4096) plus
// two jiffies (usecs_to_jiffies rounds the timeout up, and expiry waits for the next tick).
int64_t late_bound_ns(int64_t timeout_ns) {
  const int64_t jiffy = 4 * kMillisecond;
  const int64_t j = timeout_ns / jiffy;
  const int64_t granularity = j < 63 ? jiffy : j < 504 ? 8 * jiffy : 64 * jiffy;
  return granularity + 2 * jiffy;
}

// Ethernet frames written straight onto an interface by a packet socket (protocol 0: it sends
// and receives nothing else): TCP/IPv4 headers 198.18.0.1 -> 198.18.0.2:9000, addressed to a MAC
// nobody has, so the peer's stack drops them after its capture saw them. The sender's capture
// queues its copy of each frame before sendmmsg() returns (dev_queue_xmit_nit runs in the
// sending call), so "sent" is also "queued on the client's capture socket".
constexpr uint8_t kFrameSource[6] = {0x02, 0xde, 0xad, 0xbe, 0xef, 0x02};

std::vector<uint8_t> tcp_frame(uint16_t sport, int vlan_id = -1) {
  std::vector<uint8_t> f = {0x02, 0xde, 0xad, 0xbe, 0xef, 0x01};
  f.insert(f.end(), kFrameSource, kFrameSource + 6);
  if (vlan_id >= 0) f.insert(f.end(), {0x81, 0x00, static_cast<uint8_t>(vlan_id >> 8), static_cast<uint8_t>(vlan_id)});
  f.insert(f.end(), {0x08, 0x00});
  const uint8_t ip[20] = {0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2};
  f.insert(f.end(), ip, ip + 20);
  const uint8_t tcp[20] = {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport), 0x23, 0x28, 0, 0, 0, 1,
                           0, 0, 0, 0, 0x50, 0x10, 0x01, 0x00, 0, 0, 0, 0};
  f.insert(f.end(), tcp, tcp + 20);
  return f;
}

// Sends `count` frames (source ports 10000.. modulo 1000) in batches of 32; returns how many
// the kernel took.
size_t send_frames(const netns::NetNs& ns, const std::string& ifname, size_t count, int vlan_id = -1) {
  Fd fd;
  int ifindex = 0;
  {
    auto in = netns::ScopedNetns::enter(ns.fd());
    if (!in.ok()) return 0;
    fd = Fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  }
  if (!fd.valid() || ifindex <= 0) return 0;
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  constexpr size_t kBatch = 32;
  size_t sent = 0;
  while (sent < count) {
    const size_t n = std::min(kBatch, count - sent);
    std::vector<std::vector<uint8_t>> frames;
    std::vector<iovec> iov(n);
    std::vector<mmsghdr> msgs(n);
    for (size_t i = 0; i < n; ++i) frames.push_back(tcp_frame(static_cast<uint16_t>(10000 + (sent + i) % 1000), vlan_id));
    for (size_t i = 0; i < n; ++i) {
      iov[i] = iovec{frames[i].data(), frames[i].size()};
      msgs[i].msg_hdr = msghdr{&to, sizeof to, &iov[i], 1, nullptr, 0, 0};
    }
    const int got = ::sendmmsg(fd.get(), msgs.data(), static_cast<unsigned>(n), 0);
    if (got <= 0) break;
    sent += static_cast<size_t>(got);
  }
  return sent;
}

size_t open_fd_count() {
  size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

}  // namespace

// ---- the committed fixtures (tests/data/pcap): recorded only when asked ----------------

TEST(CaptureFixtures, DISABLED_Record) {  // a recorder, not a test: run by tests/data/pcap/regen.sh
  const char* dir = std::getenv("SOCKCHAOS_RECORD_PCAP_DIR");
  if (!dir) GTEST_SKIP() << "set SOCKCHAOS_RECORD_PCAP_DIR (tests/data/pcap/regen.sh does) to re-record";
  SKIP_UNLESS_ABLE();
  struct Recipe {
    std::string name;
    harness::Scenario scenario;
    std::function<void(Cell&)> run;
  };
  std::vector<Recipe> recipes = {
      {"exchange_fin", two_host_scenario(), scenario_exchange_with_close},
      {"blackhole_burst", two_host_scenario(), [](Cell& c) { scenario_blackholed_burst(c, 6000, 3400); }},
      {"blackhole_busy", two_host_scenario(), [](Cell& c) { scenario_blackholed_busy(c, 1700); }},
      {"keepalive", two_host_scenario(), scenario_keepalive},
      {"zero_window", two_host_scenario(), scenario_zero_window},
      {"resets", two_host_scenario(), scenario_resets},
      {"syn_blackhole", two_host_scenario(), [](Cell& c) { scenario_syn_blackholed(c, 3500); }},
      {"synack_lost", two_host_scenario(), [](Cell& c) { scenario_synack_lost(c, 3500); }},
  };
  for (auto& r : recipes) {
    Cell c;
    auto st = c.build(r.scenario);
    ASSERT_TRUE(st.ok()) << st.error().str();
    r.run(c);
    ASSERT_TRUE(c.stop().ok());
    for (const char* host : {"client", "server"}) {
      const auto& h = c.captured(host);
      EXPECT_FALSE(h.stats().truncated);
      EXPECT_EQ(h.stats().dropped_by_kernel, 0u);
      auto w = h.write_pcap(std::string(dir) + "/" + r.name + "." + host + ".pcap");
      ASSERT_TRUE(w.ok()) << w.error().str();
    }
  }
}

// ---- live captures against tshark ------------------------------------------------------

TEST(Capture, BlackholedBurstMatchesTsharkFrameByFrame) {
  SKIP_UNLESS_ABLE();
  SKIP_UNLESS_TSHARK();
  Cell c;
  auto st = c.build(two_host_scenario());
  ASSERT_TRUE(st.ok()) << st.error().str();
  const BurstTimes t = scenario_blackholed_burst(c, 6000, 1800);
  ASSERT_GT(t.write_after, 0) << "the exchange before the fault failed";
  ASSERT_TRUE(c.stop().ok());
  ASSERT_TRUE(c.stop().ok()) << "stop() is idempotent";
  CaptureDir tmp;
  std::map<std::string, harness::PacketAnalysis> analyses;
  for (const char* host : {"client", "server"}) {
    SCOPED_TRACE(host);
    const auto& h = c.captured(host);
    const auto& s = h.stats();
    EXPECT_EQ(s.seen, s.kept);
    EXPECT_FALSE(s.truncated);
    EXPECT_EQ(s.dropped_by_kernel, 0u);
    EXPECT_EQ(s.unstamped, 0u) << "every packet carries the kernel's timestamp";
    EXPECT_GT(s.kernel_buffer_bytes, 0);
    EXPECT_TRUE(s.error.empty()) << s.error;
    // The clock conversion: within its stated bound, and the offset did not move much.
    EXPECT_LT(s.clock_error_bound_ns, 1 * kMillisecond);
    for (const auto& p : h.packets()) {
      EXPECT_LE(p.bytes.size(), 128u);
      EXPECT_GE(p.wire_len, p.bytes.size());
      EXPECT_EQ(p.linktype, harness::kLinktypeEthernet);
    }
    const std::string file = (tmp.path / (std::string(host) + ".pcap")).string();
    ASSERT_TRUE(h.write_pcap(file).ok());
    int status = -1;
    const std::string out = sh(tshark_command(file), &status);
    ASSERT_EQ(status, 0) << "tshark could not read " << file;
    auto table = parse_tshark_tsv(out);
    EXPECT_EQ(table.rows.size(), h.packets().size()) << "tshark counts the packets";
    const auto packets = parsed(h);
    ASSERT_EQ(packets.size(), h.packets().size()) << "every captured packet parses as TCP";
    const std::string own = std::string(host) == "client" ? c.client_ip() : c.server_ip();
    auto a = harness::analyze_packets(packets, {*harness::IpAddress::parse(own)});
    // compare_with_tshark also checks frame.time_epoch == our real_ns, nanosecond for nanosecond.
    auto cmp = compare_with_tshark(table, packets, a);
    EXPECT_TRUE(cmp.mismatches.empty()) << join_lines(cmp.mismatches);
    EXPECT_GT(cmp.set_per_field["tcp.analysis.retransmission"], 2u) << "the blackhole made retransmissions";
    analyses[host] = std::move(a);
  }

  // Monotonic times: the burst's first segment left while write() ran, on the client's clock.
  const auto& client = c.captured("client");
  const auto cp = parsed(client);
  const int64_t bound = client.stats().clock_error_bound_ns;
  const harness::TcpPacket* first = nullptr;
  for (const auto& p : cp)
    if (p.src.str() == c.client_ip() && p.payload_len > 100) {
      first = &p;
      break;
    }
  ASSERT_NE(first, nullptr);
  EXPECT_GE(first->mono_ns, t.write_before - bound);
  EXPECT_LE(first->mono_ns, t.write_after + bound);
  // ...and reached the server's veth after it left the client's (one clock for both hosts).
  const auto sp = parsed(c.captured("server"));
  for (const auto& p : sp) {
    if (p.seq == first->seq && p.payload_len == first->payload_len) {
      EXPECT_GE(p.mono_ns + c.captured("server").stats().clock_error_bound_ns + bound, first->mono_ns);
      EXPECT_LT(p.mono_ns - first->mono_ns, 5 * kMillisecond);
      break;
    }
  }

  // Classification: one tail loss probe first, then RTOs backing off (sent by the client,
  // received by the server, whose capture sees them before its nftables drop).
  for (const auto& [host, dir] : {std::pair{"client", harness::PacketDirection::sent},
                                  std::pair{"server", harness::PacketDirection::received}}) {
    SCOPED_TRACE(host);
    auto rx = events_of(analyses[host], dir,
                        {PacketEventKind::retransmission, PacketEventKind::tail_loss_probe,
                         PacketEventKind::fast_retransmission, PacketEventKind::spurious_retransmission});
    ASSERT_GE(rx.size(), 4u);
    EXPECT_EQ(rx[0]->kind, PacketEventKind::tail_loss_probe) << rx[0]->detail;
    for (size_t i = 1; i < rx.size(); ++i) EXPECT_EQ(rx[i]->kind, PacketEventKind::retransmission) << i;
    // RTOs of the first unacknowledged segment: ordinals 1, 2, 3...; each gap twice the one
    // before (tcp_retransmit_timer doubles icsk_rto), each retransmission late by at most the
    // timer wheel's granularity plus two jiffies (usecs_to_jiffies rounds up; expiry waits for
    // a tick). The first gap counts from the segment's first send: the probe re-armed the RTO
    // for what was left of it (tcp_rearm_rto, tcp_rto_delta_us).
    std::vector<const harness::PacketEvent*> rto(rx.begin() + 1, rx.end());
    for (size_t i = 0; i < rto.size(); ++i) EXPECT_EQ(rto[i]->ordinal, i + 1) << rto[i]->detail;
    EXPECT_GE(rto[0]->gap_ns, 200 * kMillisecond) << "TCP_RTO_MIN";
    for (size_t i = 1; i < rto.size(); ++i) {
      const int64_t previous = rto[i - 1]->gap_ns, gap = rto[i]->gap_ns;
      EXPECT_GE(gap, 2 * previous - 2 * late_bound_ns(previous)) << i << ": " << gap << " after " << previous;
      EXPECT_LE(gap, 2 * previous + late_bound_ns(gap)) << i << ": " << gap << " after " << previous;
    }
  }
  const auto& flows = analyses["client"].flows;
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].sent.tail_loss_probes, 1u);
  EXPECT_EQ(flows[0].local.rfind(c.client_ip() + ":", 0), 0u) << flows[0].local;
  EXPECT_EQ(flows[0].remote, c.server_ip() + ":9000");
}

TEST(Capture, ByteCapKeepsTheFirstAndTheLastPackets) {
  SKIP_UNLESS_ABLE();
  Cell c;
  auto st = c.build(two_host_scenario());
  ASSERT_TRUE(st.ok()) << st.error().str();
  // A second capture of the client with a small cap; the first (uncapped) is the reference.
  netns::CaptureOptions small;
  small.max_bytes = 40 * (netns::kPacketOverheadBytes + 90);
  auto capped = netns::CaptureSet::start({{"client", &c.client().ns, {"sc0"}}}, small);
  ASSERT_TRUE(capped.ok()) << capped.error().str();
  {
    Fd l = listen_in(c.server().ns, kPort);
    Fd cl = connect_in(c.client().ns, c.server_ip(), kPort);
    Fd sv = accept_one(l.get());
    ASSERT_TRUE(cl.valid() && sv.valid());
    int one = 1;
    ::setsockopt(cl.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(sv.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; i < 150; ++i) {  // ping-pong: ~300 data segments and their ACKs
      ASSERT_TRUE(write_all(cl.get(), 10, 'p'));
      ASSERT_EQ(read_exact(sv.get(), 10), 10u);
      ASSERT_TRUE(write_all(sv.get(), 10, 'o'));
      ASSERT_EQ(read_exact(cl.get(), 10), 10u);
    }
  }
  sleep_ms(20);
  ASSERT_TRUE(capped->stop().ok());
  ASSERT_TRUE(c.stop().ok());
  const auto& ref = c.captured("client").packets();
  const auto& cap = capped->host(0);
  const auto& s = cap.stats();
  EXPECT_TRUE(s.truncated);
  EXPECT_EQ(s.unstamped, 0u);
  EXPECT_EQ(c.captured("client").stats().unstamped, 0u);
  EXPECT_EQ(s.seen, ref.size()) << "both captures saw every packet";
  EXPECT_EQ(s.kept + s.dropped_by_cap, s.seen);
  EXPECT_EQ(s.kept, cap.packets().size());
  EXPECT_GT(s.first_part, 0u);
  EXPECT_LT(s.first_part, s.kept);
  size_t bytes = 0;
  for (const auto& p : cap.packets()) bytes += p.bytes.size() + netns::kPacketOverheadBytes;
  EXPECT_LE(bytes, small.max_bytes);
  // The same packet in both captures: the same bytes (TCP timestamps make each one unique
  // here), stamped within a millisecond. Packets a few microseconds apart, one sent and one
  // received on another CPU (receive packet steering), can be stamped and queued in either
  // order by two sockets, so each is looked for a few places around its own.
  auto found = [&](const netns::CapturedPacket& p, size_t at) {
    for (size_t j = at > 3 ? at - 3 : 0; j < std::min(at + 4, ref.size()); ++j)
      if (ref[j].bytes == p.bytes && std::llabs(ref[j].real_ns - p.real_ns) < kMillisecond) return true;
    return false;
  };
  auto where = [&](const netns::CapturedPacket& p) {  // for the failure message
    for (size_t j = 0; j < ref.size(); ++j)
      if (ref[j].bytes == p.bytes) return "at " + std::to_string(j) + ", " + std::to_string(p.real_ns - ref[j].real_ns) + " ns apart";
    return std::string("nowhere");
  };
  for (size_t i = 0; i < s.first_part; ++i)
    EXPECT_TRUE(found(cap.packets()[i], i)) << "first part, " << i << ": " << where(cap.packets()[i]);
  const size_t last = s.kept - s.first_part;
  for (size_t i = 0; i < last; ++i)
    EXPECT_TRUE(found(cap.packets()[s.first_part + i], ref.size() - last + i))
        << "last part, " << i << ": " << where(cap.packets()[s.first_part + i]);
  // The file of a truncated capture still opens in tshark with what was kept.
  int status = -1;
  sh("tshark -v >/dev/null 2>&1", &status);
  if (status == 0) {
    CaptureDir tmp;
    const std::string file = (tmp.path / "capped.pcap").string();
    ASSERT_TRUE(cap.write_pcap(file).ok());
    auto table = parse_tshark_tsv(sh(tshark_command(file)));
    EXPECT_EQ(table.rows.size(), s.kept);
  }
}

TEST(Capture, FilterSnaplenAndOneHandlePerInterface) {
  SKIP_UNLESS_ABLE();
  harness::Scenario s = two_host_scenario();
  s.hosts.push_back({"proxy", {}});
  s.links = {{"client", "proxy"}, {"proxy", "server"}};
  auto topo = harness::Topology::build(s);
  ASSERT_TRUE(topo.ok()) << topo.error().str();
  auto& proxy = topo->host("proxy");
  ASSERT_EQ(proxy.interfaces.size(), 2u);
  netns::CaptureOptions o;
  o.filter = "tcp dst port 9000";
  o.snaplen = 96;
  auto cap = netns::CaptureSet::start({{"proxy", &proxy.ns, {"sc0", "sc1"}}}, o);
  ASSERT_TRUE(cap.ok()) << cap.error().str();
  {
    Fd l = listen_in(topo->host("server").ns, kPort);
    Fd cl = connect_in(topo->host("client").ns, topo->host("server").address(), kPort);
    Fd sv = accept_one(l.get());
    ASSERT_TRUE(cl.valid() && sv.valid());
    ASSERT_TRUE(write_all(cl.get(), 5000));
    ASSERT_EQ(read_exact(sv.get(), 5000), 5000u);
    ASSERT_TRUE(write_all(sv.get(), 5000));
    ASSERT_EQ(read_exact(cl.get(), 5000), 5000u);
  }
  sleep_ms(20);
  ASSERT_TRUE(cap->stop().ok());
  const auto& h = cap->host(0);
  std::map<std::string, int> per_if;
  uint64_t big = 0;
  for (const auto& p : h.packets()) {
    auto t = harness::parse_tcp_packet(p.bytes.data(), p.bytes.size(), p.wire_len, p.linktype);
    ASSERT_TRUE(t.ok()) << t.error().str();
    EXPECT_EQ(t->dst_port, kPort) << "the filter";
    EXPECT_LE(p.bytes.size(), 96u) << "the snaplen";
    if (t->payload_len > 1000) {
      ++big;
      EXPECT_GT(p.wire_len, p.bytes.size());
    }
    ++per_if[p.ifname];
  }
  EXPECT_GT(big, 0u);
  // Forwarded: every packet crossed both of the proxy's interfaces.
  EXPECT_EQ(per_if["sc0"], per_if["sc1"]);
  EXPECT_GT(per_if["sc0"], 3);
  // Analysed per interface (one observation point each): two flows, no retransmission.
  auto a = harness::analyze_packets(parsed(h), {*harness::IpAddress::parse(proxy.address())});
  EXPECT_EQ(a.flows.size(), 2u);
  for (const auto& e : a.events) EXPECT_NE(e.kind, PacketEventKind::retransmission) << e.frame;
  for (const auto& e : a.events) EXPECT_EQ(e.direction, harness::PacketDirection::forwarded);
  // Packets in time order across the two handles.
  for (size_t i = 1; i < h.packets().size(); ++i) EXPECT_LE(h.packets()[i - 1].real_ns, h.packets()[i].real_ns);
}

TEST(Capture, SurvivesTheLinkGoingDownAndUp) {
  SKIP_UNLESS_ABLE();
  Cell c;
  auto st = c.build(two_host_scenario());
  ASSERT_TRUE(st.ok()) << st.error().str();
  Fd l = listen_in(c.server().ns, kPort);
  Fd cl = connect_in(c.client().ns, c.server_ip(), kPort);
  Fd sv = accept_one(l.get());
  ASSERT_TRUE(cl.valid() && sv.valid());
  ASSERT_TRUE(netns::set_link_up(c.client().ns, "sc0", false).ok());
  sleep_ms(50);
  ASSERT_TRUE(netns::set_link_up(c.client().ns, "sc0", true).ok());
  auto route = netns::RouteSocket::open(c.client().ns);
  ASSERT_TRUE(route.ok());
  ASSERT_TRUE(route->wait_operational("sc0", 2000).ok());
  // Routes via a downed link are flushed; the /30's own route comes back with the address.
  ASSERT_TRUE(write_all(cl.get(), 500));
  ASSERT_EQ(read_exact(sv.get(), 500, 3000), 500u);
  sleep_ms(20);
  ASSERT_TRUE(c.stop().ok());
  const auto& h = c.captured("client");
  // Everything written after the link came back was captured (in however many segments).
  uint64_t bytes = 0;
  for (const auto& p : parsed(h))
    if (p.src.str() == c.client_ip()) bytes += p.payload_len;
  EXPECT_GE(bytes, 500u) << "the capture resumed after the link came back: " << h.stats().error;
  EXPECT_TRUE(h.stats().error.empty()) << h.stats().error;
}

TEST(Capture, StartFailsCleanlyForAMissingInterface) {
  SKIP_UNLESS_ABLE();
  auto ns = netns::NetNs::create();
  ASSERT_TRUE(ns.ok());
  auto cap = netns::Capture::start(*ns, {"nope0"});
  ASSERT_FALSE(cap.ok());
  EXPECT_NE(cap.error().message.find("nope0"), std::string::npos) << cap.error().str();
  netns::CaptureOptions bad;
  bad.filter = "tcp and and";
  auto filt = netns::Capture::start(*ns, {"lo"}, bad);
  ASSERT_FALSE(filt.ok());
  EXPECT_NE(filt.error().message.find("filter"), std::string::npos) << filt.error().str();
}

// stop() reads what the kernel holds before it closes anything: frames the client sent right
// before stop() (its capture socket queued each copy before sendmmsg returned) are all there.
TEST(Capture, StopReadsEverythingQueuedBeforeIt) {
  SKIP_UNLESS_ABLE();
  Cell c;
  auto st = c.build(two_host_scenario());
  ASSERT_TRUE(st.ok()) << st.error().str();
  const size_t sent = send_frames(c.client().ns, "sc0", 5000);
  ASSERT_EQ(sent, 5000u);
  ASSERT_TRUE(c.stop().ok());
  const auto& client = c.captured("client").stats();
  EXPECT_EQ(client.dropped_by_kernel, 0u);
  EXPECT_EQ(client.seen, sent);
  EXPECT_EQ(client.unstamped, 0u);
  const auto& server = c.captured("server").stats();
  EXPECT_LE(server.seen + server.dropped_by_kernel, sent);
  // Each frame crossed the veth once: one copy sent, one received, both stamped by the kernel,
  // the received one after the sent one.
  const auto& cp = c.captured("client").packets();
  const auto& sp = c.captured("server").packets();
  ASSERT_FALSE(sp.empty());
  EXPECT_EQ(cp.front().bytes, sp.front().bytes);
  EXPECT_GE(sp.front().real_ns, cp.front().real_ns);
}

// A receive buffer too small for a burst: the kernel drops what finds no room and says how
// many (PACKET_STATISTICS); every frame is either captured or counted as dropped.
TEST(Capture, KernelDropsAreCounted) {
  SKIP_UNLESS_ABLE();
  Cell c;
  auto st = c.build(two_host_scenario());
  ASSERT_TRUE(st.ok()) << st.error().str();
  netns::CaptureOptions tiny;
  tiny.kernel_buffer_bytes = 1;  // the kernel's minimum, a few frames
  auto cap = netns::CaptureSet::start({{"client", &c.client().ns, {"sc0"}}}, tiny);
  ASSERT_TRUE(cap.ok()) << cap.error().str();
  const size_t sent = send_frames(c.client().ns, "sc0", 2000);
  ASSERT_EQ(sent, 2000u);
  ASSERT_TRUE(cap->stop().ok());
  const auto& s = cap->host(0).stats();
  EXPECT_LT(s.kernel_buffer_bytes, 64 * 1024);
  EXPECT_GT(s.dropped_by_kernel, 0u) << "2000 frames in bursts of 32 into a buffer of a few";
  EXPECT_EQ(s.seen + s.dropped_by_kernel, sent);
  EXPECT_EQ(s.seen, s.kept);
}

// Loopback: a host's own transmissions come back as received on lo, so each packet would be
// seen twice; like libpcap, the capture keeps the received copy only.
TEST(Capture, LoopbackPacketsAppearOnce) {
  SKIP_UNLESS_ABLE();
  Cell c;
  auto st = c.build(two_host_scenario());
  ASSERT_TRUE(st.ok()) << st.error().str();
  auto lo = netns::CaptureSet::start({{"client", &c.client().ns, {"lo"}}});
  ASSERT_TRUE(lo.ok()) << lo.error().str();
  {
    Fd l = listen_in(c.client().ns, kPort);
    Fd cl = connect_in(c.client().ns, c.client_ip(), kPort);  // the host's own address: via lo
    Fd sv = accept_one(l.get());
    ASSERT_TRUE(cl.valid() && sv.valid());
    ASSERT_TRUE(write_all(cl.get(), 100));
    ASSERT_EQ(read_exact(sv.get(), 100), 100u);
  }
  sleep_ms(20);
  ASSERT_TRUE(lo->stop().ok());
  ASSERT_TRUE(c.stop().ok());
  const auto& h = lo->host(0);
  ASSERT_GE(h.packets().size(), 5u);
  std::map<std::vector<uint8_t>, int> copies;
  int syn = 0, synack = 0;
  for (const auto& p : h.packets()) {
    EXPECT_EQ(p.ifname, "lo");
    EXPECT_EQ(p.linktype, harness::kLinktypeEthernet);
    ++copies[p.bytes];
    auto t = harness::parse_tcp_packet(p.bytes.data(), p.bytes.size(), p.wire_len, p.linktype);
    ASSERT_TRUE(t.ok()) << t.error().str();
    if (t->has(harness::tcp_flag::kSyn) && !t->has(harness::tcp_flag::kAck)) ++syn;
    if (t->has(harness::tcp_flag::kSyn) && t->has(harness::tcp_flag::kAck)) ++synack;
  }
  for (const auto& [bytes, n] : copies) EXPECT_EQ(n, 1) << "a frame captured twice";
  EXPECT_EQ(syn, 1);
  EXPECT_EQ(synack, 1);
  EXPECT_EQ(c.captured("client").stats().seen, 0u) << "nothing of it crossed sc0";
  int status = -1;
  sh("tshark -v >/dev/null 2>&1", &status);
  if (status == 0) {
    CaptureDir tmp;
    const std::string file = (tmp.path / "lo.pcap").string();
    ASSERT_TRUE(h.write_pcap(file).ok());
    EXPECT_EQ(parse_tshark_tsv(sh(tshark_command(file))).rows.size(), h.packets().size());
  }
}

// A VLAN tag travels in the skb once the receive path has taken it out of the frame
// (skb_vlan_untag, ahead of the taps); the capture puts it back, so the receiver's copy is the
// frame as it was on the wire, byte for byte the sender's.
TEST(Capture, VlanTagsAreRestoredAsOnTheWire) {
  SKIP_UNLESS_ABLE();
  Cell c;
  netns::CaptureOptions by_source;
  by_source.filter = "ether src 02:de:ad:be:ef:02";  // matches the frame tagged and untagged
  auto st = c.build(two_host_scenario(), by_source);
  ASSERT_TRUE(st.ok()) << st.error().str();
  ASSERT_EQ(send_frames(c.client().ns, "sc0", 3, 5), 3u);
  sleep_ms(20);
  ASSERT_TRUE(c.stop().ok());
  // Three flows (source ports): their receive order across CPUs is not the send order.
  auto frames_of = [](const netns::HostCapture& h) {
    std::multiset<std::vector<uint8_t>> out;
    for (const auto& p : h.packets()) {
      EXPECT_EQ(p.wire_len, p.bytes.size());
      out.insert(p.bytes);
    }
    return out;
  };
  const auto sent = frames_of(c.captured("client"));
  const auto received = frames_of(c.captured("server"));
  std::multiset<std::vector<uint8_t>> frames;
  for (uint16_t port = 10000; port < 10003; ++port) frames.insert(tcp_frame(port, 5));
  EXPECT_EQ(sent, frames) << "the sender's copies, tagged in the frame";
  EXPECT_EQ(received, frames) << "the receiver's, the tag put back";
  int status = -1;
  sh("tshark -v >/dev/null 2>&1", &status);
  if (status == 0) {
    CaptureDir tmp;
    const std::string file = (tmp.path / "vlan.pcap").string();
    ASSERT_TRUE(c.captured("server").write_pcap(file).ok());
    EXPECT_EQ(sh("tshark -n -r '" + file + "' -T fields -e vlan.id 2>/dev/null"), "5\n5\n5\n");
  }
}

// stop() and destruction leave the closing of the packet sockets (each waits for an RCU grace
// period) to background threads: they are all closed soon after, none is leaked.
TEST(Capture, SocketsAreClosedInTheBackground) {
  SKIP_UNLESS_ABLE();
  auto topo = harness::Topology::build(two_host_scenario());
  ASSERT_TRUE(topo.ok()) << topo.error().str();
  const std::vector<netns::CaptureSet::Target> targets = {{"client", &topo->host("client").ns, {"sc0"}},
                                                         {"server", &topo->host("server").ns, {"sc0"}}};
  // The reader threads end (and drop their eventfds) as soon as they see stop().
  auto settled = [](size_t baseline) {
    const int64_t deadline = monotonic_ns() + 2 * kSecond;
    while (open_fd_count() > baseline && monotonic_ns() < deadline) sleep_ms(2);
    return open_fd_count();
  };
  { auto warm = netns::CaptureSet::start(targets); ASSERT_TRUE(warm.ok()) << warm.error().str(); }
  ASSERT_TRUE(netns::wait_for_background_closes(10 * kSecond));
  const size_t baseline = settled(open_fd_count());
  for (int i = 0; i < 20; ++i) {
    auto cap = netns::CaptureSet::start(targets);
    ASSERT_TRUE(cap.ok()) << cap.error().str();
    if (i % 2 == 0) {
      ASSERT_TRUE(cap->stop().ok());  // the others are stopped by the destructor
    }
  }
  EXPECT_TRUE(netns::wait_for_background_closes(10 * kSecond)) << "40 closes, in parallel";
  // None leaked: back to the baseline or below (a descriptor the process still held when the
  // baseline was counted, e.g. a closing thread's, may be gone by now).
  EXPECT_LE(settled(baseline), baseline);
}

// Rootless: the same capture inside `unshare -Urn` as an unprivileged user. AF_PACKET needs
// CAP_NET_RAW in the user namespace that owns the network namespace (net/packet/af_packet.c,
// packet_create: ns_capable(net->user_ns, CAP_NET_RAW)), which the namespace's root has.
TEST(Capture, WorksInAnUnprivilegedUserNamespace) {
  SKIP_UNLESS_ABLE();
  if (std::getenv("SOCKCHAOS_CAPTURE_ROOTLESS_CHILD")) GTEST_SKIP() << "(the child)";
  int st = -1;
  sh("setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn true 2>/dev/null", &st);
  if (st != 0) GTEST_SKIP() << "unprivileged user namespaces are not available (setpriv/unshare -Urn failed)";
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string out =
      sh("SOCKCHAOS_CAPTURE_ROOTLESS_CHILD=1 setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn '" +
             self + "' --gtest_filter=Capture.DISABLED_RootlessChild --gtest_also_run_disabled_tests 2>&1",
         &st);
  if (out.find("SKIPPED") != std::string::npos && out.find("[  PASSED  ] 0") != std::string::npos)
    GTEST_SKIP() << "the child skipped:\n" << out;
  EXPECT_EQ(st, 0) << out;
  EXPECT_NE(out.find("[  PASSED  ] 1 test"), std::string::npos) << out;
}

TEST(Capture, DISABLED_RootlessChild) {  // the child half of WorksInAnUnprivilegedUserNamespace
  if (!std::getenv("SOCKCHAOS_CAPTURE_ROOTLESS_CHILD")) GTEST_SKIP() << "run by WorksInAnUnprivilegedUserNamespace";
  // Inside: uid 0 of a user namespace mapped to nobody, in a fresh network namespace.
  Cell c;
  auto st = c.build(two_host_scenario());
  if (!st.ok() && st.error().err == EPERM) GTEST_SKIP() << st.error().str();
  ASSERT_TRUE(st.ok()) << st.error().str();
  scenario_exchange_with_close(c);
  ASSERT_TRUE(c.stop().ok());
  auto a = analyse(c.captured("client"), c.client_ip());
  auto syn = events_of(a, harness::PacketDirection::sent, {PacketEventKind::syn});
  auto fin = events_of(a, harness::PacketDirection::sent, {PacketEventKind::fin});
  auto fin_in = events_of(a, harness::PacketDirection::received, {PacketEventKind::fin});
  EXPECT_EQ(syn.size(), 1u);
  EXPECT_EQ(fin.size(), 1u);
  EXPECT_EQ(fin_in.size(), 1u);
  EXPECT_EQ(c.captured("client").stats().seen, c.captured("server").stats().seen);
  EXPECT_EQ(c.captured("client").stats().unstamped, 0u);
  EXPECT_GT(c.captured("client").stats().kernel_buffer_bytes, 0);
}
