// TCP/IP header fields of one captured frame, parsed from its bytes (pure: no kernel, no libpcap).
// Link types: Ethernet (veths, with 802.1Q/802.1ad tags skipped), raw IP, Linux cooked v1/v2.
// Network: IPv4 (not fragmented) and IPv6 (hop-by-hop, routing, destination-options and
// atomic fragment headers skipped). The payload length comes from the IP header's length, not
// from the captured bytes (captures keep only the headers); a length field of 0 (IPv4 GSO
// beyond 64 KiB, IPv6 jumbograms / BIG TCP) falls back to the frame's length on the wire.
// Options are parsed as far as the capture holds them (options.truncated says if it did not).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace sockchaos::harness {

// pcap LINKTYPE_* values this parser understands.
inline constexpr int kLinktypeEthernet = 1;
inline constexpr int kLinktypeRaw = 101;
inline constexpr int kLinktypeLinuxSll = 113;
inline constexpr int kLinktypeLinuxSll2 = 276;

struct IpAddress {
  int family = 0;  // 4 or 6
  std::array<uint8_t, 16> bytes{};
  static std::optional<IpAddress> parse(const std::string& text);  // "198.18.0.1", "2001:2::1"
  std::string str() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

namespace tcp_flag {
inline constexpr uint16_t kFin = 0x001, kSyn = 0x002, kRst = 0x004, kPsh = 0x008, kAck = 0x010, kUrg = 0x020,
                          kEce = 0x040, kCwr = 0x080, kAe = 0x100;
}

struct TcpOptions {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> window_scale;  // shift count
  bool sack_permitted = false;
  std::vector<std::pair<uint32_t, uint32_t>> sack_blocks;  // left edge, right edge
  std::optional<uint32_t> ts_val, ts_ecr;
  bool truncated = false;  // the capture ended inside the options
};

struct TcpPacket {
  uint32_t frame = 0;  // 1-based position in its capture (as Wireshark's frame.number)
  int64_t mono_ns = 0, real_ns = 0;
  std::string ifname;
  IpAddress src, dst;
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint16_t flags = 0;   // tcp_flag bits (12: the 3 reserved bits are dropped)
  uint16_t window = 0;  // as sent, not scaled
  uint8_t header_len = 0;    // TCP header bytes
  uint32_t payload_len = 0;  // TCP payload bytes, from the IP length
  TcpOptions options;
  bool has(uint16_t flag) const { return (flags & flag) != 0; }
};

// wire_len: the frame's length on the wire (pcap "len"), used only when the IP header has none.
Result<TcpPacket> parse_tcp_packet(const uint8_t* data, size_t captured_len, uint32_t wire_len, int linktype);

// "198.18.0.1:40000"; IPv6 in brackets.
std::string endpoint_str(const IpAddress& address, uint16_t port);

}  // namespace sockchaos::harness
