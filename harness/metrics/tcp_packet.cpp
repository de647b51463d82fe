#include "harness/metrics/tcp_packet.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace sockchaos::harness {

namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}

constexpr uint16_t kEthertypeIpv4 = 0x0800, kEthertypeIpv6 = 0x86DD, kEthertypeVlan = 0x8100,
                   kEthertypeQinQ = 0x88A8;
constexpr uint8_t kProtoTcp = 6;

// Offset of the network header and its ethertype, or an error.
Result<std::pair<size_t, uint16_t>> link_layer(const uint8_t* d, size_t n, int linktype) {
  switch (linktype) {
    case kLinktypeEthernet: {
      size_t off = 12;
      if (n < off + 2) return Error::plain("short Ethernet header");
      uint16_t type = be16(d + off);
      while (type == kEthertypeVlan || type == kEthertypeQinQ) {
        off += 4;
        if (n < off + 2) return Error::plain("short VLAN tag");
        type = be16(d + off);
      }
      return std::pair<size_t, uint16_t>{off + 2, type};
    }
    case kLinktypeLinuxSll:
      if (n < 16) return Error::plain("short Linux cooked header");
      return std::pair<size_t, uint16_t>{16, be16(d + 14)};
    case kLinktypeLinuxSll2:
      if (n < 20) return Error::plain("short Linux cooked v2 header");
      return std::pair<size_t, uint16_t>{20, be16(d)};
    case kLinktypeRaw:
      if (n < 1) return Error::plain("empty raw IP packet");
      return std::pair<size_t, uint16_t>{0, (d[0] >> 4) == 6 ? kEthertypeIpv6 : kEthertypeIpv4};
    default:
      return Error::plain("link type " + std::to_string(linktype) + " not understood");
  }
}

void parse_options(const uint8_t* p, size_t len, size_t available, TcpOptions& o) {
  if (available < len) {
    o.truncated = true;
    len = available;
  }
  size_t i = 0;
  while (i < len) {
    uint8_t kind = p[i];
    if (kind == 0) break;  // end of option list
    if (kind == 1) {       // no-operation
      ++i;
      continue;
    }
    if (i + 1 >= len) {
      o.truncated = o.truncated || available < len;
      break;
    }
    uint8_t olen = p[i + 1];
    if (olen < 2 || i + olen > len) break;  // malformed (or cut by the snaplen)
    const uint8_t* v = p + i + 2;
    switch (kind) {
      case 2:
        if (olen == 4) o.mss = be16(v);
        break;
      case 3:
        if (olen == 3) o.window_scale = v[0];
        break;
      case 4:
        if (olen == 2) o.sack_permitted = true;
        break;
      case 5:
        for (size_t b = 0; b + 8 <= static_cast<size_t>(olen - 2); b += 8)
          o.sack_blocks.emplace_back(be32(v + b), be32(v + b + 4));
        break;
      case 8:
        if (olen == 10) {
          o.ts_val = be32(v);
          o.ts_ecr = be32(v + 4);
        }
        break;
      default:
        break;
    }
    i += olen;
  }
}

}  // namespace

Result<TcpPacket> parse_tcp_packet(const uint8_t* d, size_t n, uint32_t wire_len, int linktype) {
  auto link = link_layer(d, n, linktype);
  if (!link.ok()) return link.error();
  auto [off, ethertype] = link.value();
  const size_t link_len = off;
  TcpPacket t;
  size_t ip_payload = 0;  // bytes after the network headers, by the IP length fields
  if (ethertype == kEthertypeIpv4) {
    if (n < off + 20) return Error::plain("short IPv4 header");
    const uint8_t* ip = d + off;
    if ((ip[0] >> 4) != 4) return Error::plain("not IPv4");
    size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
    if (ihl < 20) return Error::plain("bogus IPv4 header length");
    if (ip[9] != kProtoTcp) return Error::plain("not TCP");
    uint16_t frag = be16(ip + 6);
    if ((frag & 0x1fff) != 0 || (frag & 0x2000) != 0) return Error::plain("IPv4 fragment");
    size_t total = be16(ip + 2);
    if (total == 0 && wire_len > link_len) total = wire_len - link_len;  // GSO/BIG TCP: no length
    if (total < ihl) return Error::plain("bogus IPv4 total length");
    ip_payload = total - ihl;
    t.src.family = t.dst.family = 4;
    std::memcpy(t.src.bytes.data(), ip + 12, 4);
    std::memcpy(t.dst.bytes.data(), ip + 16, 4);
    off += ihl;
  } else if (ethertype == kEthertypeIpv6) {
    if (n < off + 40) return Error::plain("short IPv6 header");
    const uint8_t* ip = d + off;
    if ((ip[0] >> 4) != 6) return Error::plain("not IPv6");
    size_t payload = be16(ip + 4);
    if (payload == 0 && wire_len > link_len + 40) payload = wire_len - link_len - 40;  // jumbogram / BIG TCP
    uint8_t next = ip[6];
    t.src.family = t.dst.family = 6;
    std::memcpy(t.src.bytes.data(), ip + 8, 16);
    std::memcpy(t.dst.bytes.data(), ip + 24, 16);
    off += 40;
    for (;;) {
      if (next == kProtoTcp) break;
      if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination options
        if (n < off + 8) return Error::plain("short IPv6 extension header");
        size_t ext = (static_cast<size_t>(d[off + 1]) + 1) * 8;
        if (payload < ext) return Error::plain("bogus IPv6 extension header");
        next = d[off];
        off += ext;
        payload -= ext;
      } else if (next == 44) {  // fragment: only an atomic one still holds the whole segment
        if (n < off + 8) return Error::plain("short IPv6 fragment header");
        uint16_t fo = be16(d + off + 2);
        if ((fo & 0xfff9) != 0) return Error::plain("IPv6 fragment");
        if (payload < 8) return Error::plain("bogus IPv6 fragment header");
        next = d[off];
        off += 8;
        payload -= 8;
      } else {
        return Error::plain("not TCP");
      }
    }
    ip_payload = payload;
  } else {
    return Error::plain("not IP");
  }
  if (n < off + 20) return Error::plain("short TCP header");
  const uint8_t* th = d + off;
  t.src_port = be16(th);
  t.dst_port = be16(th + 2);
  t.seq = be32(th + 4);
  t.ack = be32(th + 8);
  t.header_len = static_cast<uint8_t>((th[12] >> 4) * 4);
  t.flags = static_cast<uint16_t>(be16(th + 12) & 0x01ff);
  t.window = be16(th + 14);
  if (t.header_len < 20) return Error::plain("bogus TCP header length");
  if (ip_payload < t.header_len) return Error::plain("IP length shorter than the TCP header");
  t.payload_len = static_cast<uint32_t>(ip_payload - t.header_len);
  parse_options(th + 20, t.header_len - 20u, n - off - 20, t.options);
  return t;
}

std::optional<IpAddress> IpAddress::parse(const std::string& text) {
  IpAddress a;
  if (::inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.family = 4;
    return a;
  }
  if (::inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.family = 6;
    return a;
  }
  return std::nullopt;
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 4) ::inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  else if (family == 6) ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string endpoint_str(const IpAddress& address, uint16_t port) {
  if (address.family == 6) return "[" + address.str() + "]:" + std::to_string(port);
  return address.str() + ":" + std::to_string(port);
}

}  // namespace sockchaos::harness
