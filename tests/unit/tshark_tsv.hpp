// tshark as the oracle of the packet parser and classifier: its `-T fields` output (the fields
// listed in tests/data/pcap/tshark_fields.txt, a header line, tab-separated) compared frame by
// frame with parse_tcp_packet() and analyze_packets(). Shared by the unit tests (on committed
// captures and tshark's saved output) and the integration tests (on live captures, tshark run
// there and then).
#pragma once
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness/metrics/packet_events.hpp"
#include "harness/metrics/pcap_file.hpp"
#include "harness/metrics/tcp_packet.hpp"

namespace sockchaos::testing {

inline std::string pcap_data_dir() { return std::string(SOCKCHAOS_SOURCE_DIR) + "/tests/data/pcap"; }

inline std::vector<std::string> tshark_fields() {
  std::ifstream in(pcap_data_dir() + "/tshark_fields.txt");
  std::vector<std::string> fields;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') fields.push_back(line);
  return fields;
}

// The tshark command line that produced a *.expected.tsv (and the live comparisons).
inline std::string tshark_command(const std::string& pcap) {
  std::string cmd = "tshark -n -r '" + pcap + "' -o tcp.relative_sequence_numbers:FALSE -T fields -E header=y";
  for (const auto& f : tshark_fields()) cmd += " -e " + f;
  return cmd + " 2>/dev/null";
}

struct TsharkTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::map<std::string, size_t> index;
  const std::string& at(size_t row, const std::string& column) const {
    static const std::string none;
    auto it = index.find(column);
    if (it == index.end() || it->second >= rows[row].size()) return none;
    return rows[row][it->second];
  }
  bool has(const std::string& column) const { return index.count(column) != 0; }
};

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

inline TsharkTable parse_tshark_tsv(const std::string& text) {
  TsharkTable t;
  std::istringstream in(text);
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (header) {
      t.columns = split(line, '\t');
      for (size_t i = 0; i < t.columns.size(); ++i) t.index[t.columns[i]] = i;
      header = false;
    } else {
      t.rows.push_back(split(line, '\t'));
    }
  }
  return t;
}

inline int64_t epoch_ns(const std::string& s) {
  auto dot = s.find('.');
  int64_t sec = std::stoll(s.substr(0, dot));
  std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
  frac.resize(9, '0');
  return sec * 1000000000 + std::stoll(frac);
}

inline uint64_t number(const std::string& s) { return s.empty() ? 0 : std::stoull(s, nullptr, 0); }

// Parses every record of a capture; frame numbers 1..n; mono_ns = real_ns (a file has no
// monotonic clock).
inline std::vector<harness::TcpPacket> packets_of(const harness::PcapFile& file, std::vector<std::string>* errors) {
  std::vector<harness::TcpPacket> out;
  for (size_t i = 0; i < file.records.size(); ++i) {
    const auto& r = file.records[i];
    auto p = harness::parse_tcp_packet(r.bytes.data(), r.bytes.size(), r.wire_len, file.linktype);
    if (!p.ok()) {
      if (errors) errors->push_back("frame " + std::to_string(i + 1) + ": " + p.error().message);
      continue;
    }
    p->frame = static_cast<uint32_t>(i + 1);
    p->real_ns = p->mono_ns = r.real_ns;
    out.push_back(std::move(p.value()));
  }
  return out;
}

struct Comparison {
  std::vector<std::string> mismatches;
  size_t frames = 0, flags_compared = 0, flags_set = 0;
  std::map<std::string, size_t> set_per_field;  // how often tshark showed each analysis field
};

inline const std::vector<std::pair<std::string, uint32_t>>& analysis_fields() {
  namespace wf = harness::wireshark_flag;
  static const std::vector<std::pair<std::string, uint32_t>> v = {
      {"tcp.analysis.retransmission", wf::kRetransmission},
      {"tcp.analysis.fast_retransmission", wf::kFastRetransmission},
      {"tcp.analysis.spurious_retransmission", wf::kSpuriousRetransmission},
      {"tcp.analysis.out_of_order", wf::kOutOfOrder},
      {"tcp.analysis.lost_segment", wf::kLostPacket},
      {"tcp.analysis.ack_lost_segment", wf::kAckLostPacket},
      {"tcp.analysis.duplicate_ack", wf::kDuplicateAck},
      {"tcp.analysis.keep_alive", wf::kKeepAlive},
      {"tcp.analysis.keep_alive_ack", wf::kKeepAliveAck},
      {"tcp.analysis.zero_window", wf::kZeroWindow},
      {"tcp.analysis.zero_window_probe", wf::kZeroWindowProbe},
      {"tcp.analysis.zero_window_probe_ack", wf::kZeroWindowProbeAck},
      {"tcp.analysis.window_update", wf::kWindowUpdate},
      {"tcp.analysis.reused_ports", wf::kReusedPorts},
  };
  return v;
}

// Frame by frame: the parser's header fields and the classifier's Wireshark flags against
// tshark's. `packets` and `analysis` are of the same capture (packets[i].frame numbering).
inline Comparison compare_with_tshark(const TsharkTable& t, const std::vector<harness::TcpPacket>& packets,
                                      const harness::PacketAnalysis& analysis) {
  Comparison c;
  std::map<uint32_t, size_t> by_frame;
  for (size_t i = 0; i < packets.size(); ++i) by_frame[packets[i].frame] = i;
  auto bad = [&](size_t frame, const std::string& what, const std::string& tshark, const std::string& ours) {
    c.mismatches.push_back("frame " + std::to_string(frame) + " " + what + ": tshark '" + tshark + "', ours '" +
                           ours + "'");
  };
  for (size_t row = 0; row < t.rows.size(); ++row) {
    const size_t frame = number(t.at(row, "frame.number"));
    auto it = by_frame.find(static_cast<uint32_t>(frame));
    if (it == by_frame.end()) {
      bad(frame, "parsed", "a TCP frame", "none");
      continue;
    }
    ++c.frames;
    const harness::TcpPacket& p = packets[it->second];
    const harness::FrameAnalysis& fa = analysis.frames[it->second];
    auto check = [&](const std::string& field, const std::string& ours) {
      const std::string& theirs = t.at(row, field);
      if (theirs != ours) bad(frame, field, theirs, ours);
    };
    auto opt = [](const auto& o) { return o ? std::to_string(*o) : std::string(); };
    if (t.has("frame.time_epoch") && epoch_ns(t.at(row, "frame.time_epoch")) != p.real_ns)
      bad(frame, "frame.time_epoch", t.at(row, "frame.time_epoch"), std::to_string(p.real_ns));
    check(p.src.family == 4 ? "ip.src" : "ipv6.src", p.src.str());
    check(p.dst.family == 4 ? "ip.dst" : "ipv6.dst", p.dst.str());
    check("tcp.srcport", std::to_string(p.src_port));
    check("tcp.dstport", std::to_string(p.dst_port));
    check("tcp.seq_raw", std::to_string(p.seq));
    if (p.has(harness::tcp_flag::kAck)) check("tcp.ack_raw", std::to_string(p.ack));
    if (number(t.at(row, "tcp.flags")) != p.flags) bad(frame, "tcp.flags", t.at(row, "tcp.flags"), std::to_string(p.flags));
    check("tcp.window_size_value", std::to_string(p.window));
    check("tcp.len", std::to_string(p.payload_len));
    check("tcp.hdr_len", std::to_string(p.header_len));
    check("tcp.options.mss_val", opt(p.options.mss));
    check("tcp.options.wscale.shift", opt(p.options.window_scale));
    if (t.at(row, "tcp.options.sack_perm").empty() == p.options.sack_permitted)
      bad(frame, "tcp.options.sack_perm", t.at(row, "tcp.options.sack_perm"), p.options.sack_permitted ? "yes" : "no");
    check("tcp.options.timestamp.tsval", opt(p.options.ts_val));
    check("tcp.options.timestamp.tsecr", opt(p.options.ts_ecr));
    std::string le, re;
    for (const auto& [l, r] : p.options.sack_blocks) {
      le += (le.empty() ? "" : ",") + std::to_string(l);
      re += (re.empty() ? "" : ",") + std::to_string(r);
    }
    check("tcp.options.sack_le", le);
    check("tcp.options.sack_re", re);
    check("tcp.stream", std::to_string(fa.flow));
    for (const auto& [field, bit] : analysis_fields()) {
      if (!t.has(field)) continue;
      const bool theirs = !t.at(row, field).empty();
      const bool ours = harness::wireshark_shows(fa.wireshark_flags, bit);
      ++c.flags_compared;
      if (theirs) {
        ++c.flags_set;
        ++c.set_per_field[field];
      }
      if (theirs != ours) bad(frame, field, theirs ? "set" : "", ours ? "set" : "");
    }
    if (fa.wireshark_flags & harness::wireshark_flag::kDuplicateAck) {
      check("tcp.analysis.duplicate_ack_num", std::to_string(fa.duplicate_ack_num));
      check("tcp.analysis.duplicate_ack_frame", std::to_string(fa.duplicate_ack_frame));
    }
  }
  if (c.frames != packets.size())
    c.mismatches.push_back("tshark has " + std::to_string(c.frames) + " TCP frames, we parsed " +
                           std::to_string(packets.size()));
  return c;
}

inline std::string join_lines(const std::vector<std::string>& v, size_t max = 40) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < max; ++i) out += v[i] + "\n";
  if (v.size() > max) out += "... " + std::to_string(v.size() - max) + " more\n";
  return out;
}

}  // namespace sockchaos::testing
