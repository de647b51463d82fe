// A small reader for classic pcap files (microsecond magic a1b2c3d4 and nanosecond magic
// a1b23c4d, either byte order), enough to read back what netns::HostCapture::write_pcap writes
// and what tcpdump/dumpcap -F pcap write, without libpcap. pcapng is not read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace sockchaos::harness {

struct PcapRecord {
  int64_t real_ns = 0;  // the file's timestamp, in nanoseconds since the epoch
  uint32_t wire_len = 0;
  std::vector<uint8_t> bytes;
};

struct PcapFile {
  int linktype = 0;
  bool nanosecond = false;
  uint32_t snaplen = 0;
  std::vector<PcapRecord> records;
};

Result<PcapFile> parse_pcap(const std::vector<uint8_t>& file);
Result<PcapFile> read_pcap_file(const std::string& path);

}  // namespace sockchaos::harness
