// The TCP/IP header parser and the pcap file reader on hand-made frames (the committed
// captures are compared with tshark field by field in test_packet_events.cpp).
#include <gtest/gtest.h>

#include <cstring>

#include "harness/metrics/pcap_file.hpp"
#include "harness/metrics/tcp_packet.hpp"

namespace sockchaos::harness {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}

Bytes tcp_header(uint32_t seq, uint32_t ack, uint16_t flags, uint16_t window, const Bytes& options) {
  Bytes t;
  put16(t, 40000);
  put16(t, 9000);
  put32(t, seq);
  put32(t, ack);
  const size_t hl = 20 + options.size();
  t.push_back(static_cast<uint8_t>((hl / 4) << 4 | (flags >> 8)));
  t.push_back(static_cast<uint8_t>(flags));
  put16(t, window);
  put16(t, 0);
  put16(t, 0);
  t.insert(t.end(), options.begin(), options.end());
  return t;
}

Bytes ipv4(const Bytes& tcp, uint32_t payload, uint16_t frag = 0x4000, int total_override = -1) {
  Bytes ip = {0x45, 0};
  put16(ip, static_cast<uint16_t>(total_override >= 0 ? total_override : 20 + tcp.size() + payload));
  put16(ip, 1);
  put16(ip, frag);
  ip.push_back(64);
  ip.push_back(6);
  put16(ip, 0);
  for (uint8_t b : {198, 18, 0, 1, 198, 18, 0, 2}) ip.push_back(b);
  ip.insert(ip.end(), tcp.begin(), tcp.end());
  return ip;
}

Bytes ethernet(const Bytes& l3, uint16_t ethertype, bool vlan = false) {
  Bytes e(12, 0x02);
  if (vlan) {
    put16(e, 0x8100);
    put16(e, 7);
  }
  put16(e, ethertype);
  e.insert(e.end(), l3.begin(), l3.end());
  return e;
}

// MSS 1460, SACK permitted, timestamps, NOP, window scale 7 (a Linux SYN's options).
const Bytes kSynOptions = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7};

TEST(TcpPacket, Ipv4OverEthernetWithSynOptions) {
  Bytes f = ethernet(ipv4(tcp_header(0xfffffff0, 0, tcp_flag::kSyn, 64240, kSynOptions), 0), 0x0800);
  auto p = parse_tcp_packet(f.data(), f.size(), static_cast<uint32_t>(f.size()), kLinktypeEthernet);
  ASSERT_TRUE(p.ok()) << p.error().str();
  EXPECT_EQ(p->src.str(), "198.18.0.1");
  EXPECT_EQ(p->dst.str(), "198.18.0.2");
  EXPECT_EQ(p->src_port, 40000);
  EXPECT_EQ(p->dst_port, 9000);
  EXPECT_EQ(p->seq, 0xfffffff0u);
  EXPECT_EQ(p->flags, tcp_flag::kSyn);
  EXPECT_EQ(p->window, 64240);
  EXPECT_EQ(p->header_len, 40);
  EXPECT_EQ(p->payload_len, 0u);
  EXPECT_EQ(p->options.mss, 1460);
  EXPECT_TRUE(p->options.sack_permitted);
  EXPECT_EQ(p->options.ts_val, 1u);
  EXPECT_EQ(p->options.ts_ecr, 2u);
  EXPECT_EQ(p->options.window_scale, 7);
  EXPECT_FALSE(p->options.truncated);
}

TEST(TcpPacket, PayloadLengthComesFromTheIpHeaderNotTheSnaplen) {
  Bytes f = ethernet(ipv4(tcp_header(1, 2, tcp_flag::kAck | tcp_flag::kPsh, 500, {}), 1448), 0x0800);
  auto p = parse_tcp_packet(f.data(), f.size(), static_cast<uint32_t>(f.size() + 1448), kLinktypeEthernet);
  ASSERT_TRUE(p.ok()) << p.error().str();
  EXPECT_EQ(p->payload_len, 1448u);
  EXPECT_TRUE(p->has(tcp_flag::kPsh));
  // GSO beyond 64 KiB: a total length of 0, the frame's length on the wire instead.
  Bytes g = ethernet(ipv4(tcp_header(1, 2, tcp_flag::kAck, 500, {}), 0, 0x4000, 0), 0x0800);
  auto q = parse_tcp_packet(g.data(), g.size(), 14 + 20 + 20 + 70000, kLinktypeEthernet);
  ASSERT_TRUE(q.ok()) << q.error().str();
  EXPECT_EQ(q->payload_len, 70000u);
}

TEST(TcpPacket, SackBlocksAndTruncatedOptions) {
  Bytes opts = {1, 1, 5, 18};
  for (uint32_t v : {100u, 200u, 300u, 400u}) {
    Bytes b;
    put32(b, v);
    opts.insert(opts.end(), b.begin(), b.end());
  }
  opts.insert(opts.end(), {1, 1, 1, 1});
  Bytes f = ethernet(ipv4(tcp_header(1, 2, tcp_flag::kAck, 500, opts), 0), 0x0800);
  auto p = parse_tcp_packet(f.data(), f.size(), static_cast<uint32_t>(f.size()), kLinktypeEthernet);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->options.sack_blocks.size(), 2u);
  EXPECT_EQ(p->options.sack_blocks[1], (std::pair<uint32_t, uint32_t>{300, 400}));
  // Cut inside the options (a snaplen too small): the header still parses, options say so.
  auto cut = parse_tcp_packet(f.data(), f.size() - 10, static_cast<uint32_t>(f.size()), kLinktypeEthernet);
  ASSERT_TRUE(cut.ok()) << cut.error().str();
  EXPECT_TRUE(cut->options.truncated);
  EXPECT_EQ(cut->header_len, 20 + opts.size());
}

TEST(TcpPacket, VlanCookedAndRawLinkTypes) {
  const Bytes l3 = ipv4(tcp_header(5, 6, tcp_flag::kAck, 9, {}), 10);
  Bytes vlan = ethernet(l3, 0x0800, /*vlan=*/true);
  auto a = parse_tcp_packet(vlan.data(), vlan.size(), static_cast<uint32_t>(vlan.size() + 10), kLinktypeEthernet);
  ASSERT_TRUE(a.ok()) << a.error().str();
  EXPECT_EQ(a->payload_len, 10u);
  Bytes sll(14, 0);
  put16(sll, 0x0800);
  sll.insert(sll.end(), l3.begin(), l3.end());
  auto b = parse_tcp_packet(sll.data(), sll.size(), static_cast<uint32_t>(sll.size() + 10), kLinktypeLinuxSll);
  ASSERT_TRUE(b.ok()) << b.error().str();
  EXPECT_EQ(b->seq, 5u);
  Bytes sll2;
  put16(sll2, 0x0800);
  sll2.resize(20, 0);
  sll2.insert(sll2.end(), l3.begin(), l3.end());
  auto c = parse_tcp_packet(sll2.data(), sll2.size(), static_cast<uint32_t>(sll2.size() + 10), kLinktypeLinuxSll2);
  ASSERT_TRUE(c.ok()) << c.error().str();
  EXPECT_EQ(c->ack, 6u);
  auto d = parse_tcp_packet(l3.data(), l3.size(), static_cast<uint32_t>(l3.size() + 10), kLinktypeRaw);
  ASSERT_TRUE(d.ok()) << d.error().str();
  EXPECT_EQ(d->window, 9);
}

TEST(TcpPacket, Ipv6WithAHopByHopHeader) {
  const Bytes tcp = tcp_header(7, 8, tcp_flag::kAck, 100, {});
  Bytes ip = {0x60, 0, 0, 0};
  put16(ip, static_cast<uint16_t>(8 + tcp.size() + 33));
  ip.push_back(0);  // next: hop-by-hop
  ip.push_back(64);
  auto a = *IpAddress::parse("2001:2::1");
  auto b = *IpAddress::parse("2001:2::2");
  ip.insert(ip.end(), a.bytes.begin(), a.bytes.end());
  ip.insert(ip.end(), b.bytes.begin(), b.bytes.end());
  ip.insert(ip.end(), {6, 0, 1, 4, 0, 0, 0, 0});  // next: TCP; PadN
  ip.insert(ip.end(), tcp.begin(), tcp.end());
  Bytes f = ethernet(ip, 0x86DD);
  auto p = parse_tcp_packet(f.data(), f.size(), static_cast<uint32_t>(f.size() + 33), kLinktypeEthernet);
  ASSERT_TRUE(p.ok()) << p.error().str();
  EXPECT_EQ(p->src.family, 6);
  EXPECT_EQ(p->src.str(), "2001:2::1");
  EXPECT_EQ(p->payload_len, 33u);
  EXPECT_EQ(endpoint_str(p->dst, p->dst_port), "[2001:2::2]:9000");
}

TEST(TcpPacket, RejectsWhatIsNotAWholeTcpHeader) {
  const Bytes tcp = tcp_header(1, 1, tcp_flag::kAck, 1, {});
  Bytes frag = ethernet(ipv4(tcp, 0, 0x2000), 0x0800);  // more fragments
  EXPECT_FALSE(parse_tcp_packet(frag.data(), frag.size(), 100, kLinktypeEthernet).ok());
  Bytes udp = ethernet(ipv4(tcp, 0), 0x0800);
  udp[14 + 9] = 17;
  EXPECT_FALSE(parse_tcp_packet(udp.data(), udp.size(), 100, kLinktypeEthernet).ok());
  Bytes arp = ethernet(Bytes(28, 0), 0x0806);
  EXPECT_FALSE(parse_tcp_packet(arp.data(), arp.size(), 100, kLinktypeEthernet).ok());
  Bytes shorty = ethernet(ipv4(tcp, 0), 0x0800);
  EXPECT_FALSE(parse_tcp_packet(shorty.data(), 14 + 20 + 10, 100, kLinktypeEthernet).ok());
  Bytes bogus = ethernet(ipv4(tcp, 0, 0x4000, 30), 0x0800);  // IP length shorter than the headers
  EXPECT_FALSE(parse_tcp_packet(bogus.data(), bogus.size(), 100, kLinktypeEthernet).ok());
  EXPECT_FALSE(parse_tcp_packet(bogus.data(), bogus.size(), 100, 228).ok()) << "unknown link type";
}

TEST(TcpPacket, AddressesParseAndPrint) {
  EXPECT_EQ(IpAddress::parse("198.18.3.4")->str(), "198.18.3.4");
  EXPECT_EQ(IpAddress::parse("2001:2::abcd")->family, 6);
  EXPECT_FALSE(IpAddress::parse("not an address"));
  EXPECT_LT(*IpAddress::parse("198.18.0.1"), *IpAddress::parse("198.18.0.2"));
}

Bytes pcap_header(uint32_t magic, bool big_endian) {
  Bytes h;
  auto le32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) h.push_back(static_cast<uint8_t>(big_endian ? v >> (24 - 8 * i) : v >> (8 * i)));
  };
  auto le16 = [&](uint16_t v) {
    for (int i = 0; i < 2; ++i) h.push_back(static_cast<uint8_t>(big_endian ? v >> (8 - 8 * i) : v >> (8 * i)));
  };
  le32(magic);
  le16(2);
  le16(4);
  le32(0);
  le32(0);
  le32(128);
  le32(1);
  // one record: 1.5 s (micro or nano), 3 bytes of 60
  le32(1);
  le32(magic == 0xa1b23c4d ? 500000000 : 500000);
  le32(3);
  le32(60);
  h.insert(h.end(), {0xaa, 0xbb, 0xcc});
  return h;
}

TEST(PcapFile, ReadsMicroAndNanoInBothByteOrders) {
  for (uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du}) {
    for (bool big : {false, true}) {
      auto f = parse_pcap(pcap_header(magic, big));
      ASSERT_TRUE(f.ok()) << f.error().str();
      EXPECT_EQ(f->nanosecond, magic == 0xa1b23c4d);
      EXPECT_EQ(f->linktype, 1);
      EXPECT_EQ(f->snaplen, 128u);
      ASSERT_EQ(f->records.size(), 1u);
      EXPECT_EQ(f->records[0].real_ns, 1500000000);
      EXPECT_EQ(f->records[0].wire_len, 60u);
      EXPECT_EQ(f->records[0].bytes, (Bytes{0xaa, 0xbb, 0xcc}));
    }
  }
  Bytes cut = pcap_header(0xa1b23c4d, false);
  cut.pop_back();
  EXPECT_FALSE(parse_pcap(cut).ok());
  EXPECT_FALSE(parse_pcap(Bytes{0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}).ok())
      << "pcapng";
  EXPECT_FALSE(read_pcap_file("/nonexistent/x.pcap").ok());
}

}  // namespace
}  // namespace sockchaos::harness
