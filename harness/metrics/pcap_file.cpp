#include "harness/metrics/pcap_file.hpp"

#include <fstream>
#include <iterator>

namespace sockchaos::harness {

namespace {
constexpr uint32_t kMagicMicro = 0xa1b2c3d4, kMagicNano = 0xa1b23c4d;

uint32_t swap32(uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}
}  // namespace

Result<PcapFile> parse_pcap(const std::vector<uint8_t>& f) {
  if (f.size() < 24) return Error::plain("pcap: shorter than its file header");
  auto raw32 = [&](size_t at) {
    return static_cast<uint32_t>(f[at]) | static_cast<uint32_t>(f[at + 1]) << 8 | static_cast<uint32_t>(f[at + 2]) << 16 |
           static_cast<uint32_t>(f[at + 3]) << 24;
  };
  const uint32_t magic = raw32(0);
  bool swapped = false;
  PcapFile out;
  if (magic == kMagicMicro || magic == kMagicNano) {
    out.nanosecond = magic == kMagicNano;
  } else if (swap32(magic) == kMagicMicro || swap32(magic) == kMagicNano) {
    swapped = true;
    out.nanosecond = swap32(magic) == kMagicNano;
  } else {
    return Error::plain("pcap: not a pcap file (pcapng is not read)");
  }
  auto u32 = [&](size_t at) { return swapped ? swap32(raw32(at)) : raw32(at); };
  out.snaplen = u32(16);
  out.linktype = static_cast<int>(u32(20) & 0x0fffffff);
  size_t at = 24;
  while (at < f.size()) {
    if (f.size() - at < 16) return Error::plain("pcap: truncated record header at byte " + std::to_string(at));
    PcapRecord r;
    const int64_t sec = u32(at), frac = u32(at + 4);
    const uint32_t caplen = u32(at + 8);
    r.wire_len = u32(at + 12);
    r.real_ns = sec * 1000000000 + (out.nanosecond ? frac : frac * 1000);
    at += 16;
    if (f.size() - at < caplen) return Error::plain("pcap: truncated record at byte " + std::to_string(at));
    r.bytes.assign(f.begin() + static_cast<std::ptrdiff_t>(at), f.begin() + static_cast<std::ptrdiff_t>(at + caplen));
    at += caplen;
    out.records.push_back(std::move(r));
  }
  return out;
}

Result<PcapFile> read_pcap_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::system("pcap: open " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto parsed = parse_pcap(bytes);
  if (!parsed.ok()) return Error::plain(path + ": " + parsed.error().message);
  return parsed;
}

}  // namespace sockchaos::harness
