// Packet captures of the hosts of a cell, through libpcap (AF_PACKET), one handle per interface,
// each opened and given its BPF filter while the calling thread is inside the host's namespace
// (a packet socket binds to the namespace it is created in). No libpcap type leaves the .cpp.
//
// Why per-interface handles and not the "any" device: a veth carries Ethernet, so each handle
// gives DLT_EN10MB frames exactly as they crossed the veth (MAC addresses say which link), and
// the files open in Wireshark/tshark as ordinary Ethernet captures. "any" gives the cooked
// LINUX_SLL header instead of the frame, would also capture `lo`, and compiles one filter for
// a pseudo link layer. A pcap file has one link type, which all veths share.
//
// One reader thread serves every interface of every host of a CaptureSet: it sleeps in poll()
// on the handles' fds (immediate mode: each packet is readable as soon as the kernel has it,
// TPACKET_V2) and an eventfd that stop() signals; stop() then drains what the kernel still
// holds and reads pcap_stats(). The cell's own timing loop never waits on it. Opening and
// closing a packet socket with a ring each wait for RCU grace periods (net/packet/af_packet.c:
// packet_set_ring and packet_release call synchronize_net()), about 10-25 ms apiece: the
// handles are opened in parallel, one thread each, and closed in parallel in the background
// after stop(), joined when the CaptureSet is destroyed.
//
// What a host's capture sees: every packet its interfaces send and receive, arriving ones
// before the host's own nftables rules (AF_PACKET taps __netif_receive_skb_core, ahead of the
// prerouting hook): a packet a blackhole drops at this host's ingress is in its capture, as
// received on the wire and never delivered. The kernel stamps a sent packet as each packet
// socket copies it (tpacket_rcv), so two captures of one interface differ by microseconds.
//
// Memory per host is bounded by CaptureOptions::max_bytes (captured bytes plus a fixed
// overhead per packet). When the cap is reached the capture keeps its first half as it was and
// the most recent packets in a ring for the rest: packets() is the first part, then the last
// part, and CaptureStats says how many were seen, kept, dropped by the cap and by the kernel.
//
// Time: the kernel stamps packets with CLOCK_REALTIME (nanosecond precision is asked for and
// written to the files, which Wireshark shows as wall-clock time). Each packet also gets a
// CLOCK_MONOTONIC time, the clock of everything else sockchaos measures: mono = real - offset,
// where offset = REALTIME - MONOTONIC is measured at start and at stop (each the tightest of
// several clock_gettime sandwiches) and interpolated linearly in between. The error of a
// converted time is at most CaptureStats::clock_error_bound_ns = the larger sandwich
// half-width + |offset at stop - offset at start| (the whole change, as if the realtime clock
// had been stepped at the worst moment; NTP slewing, which is linear, is mostly corrected).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "netns/netns.hpp"

namespace sockchaos::netns {

struct CaptureOptions {
  int snaplen = 128;                 // bytes kept per packet: Ethernet + IP + TCP headers with options
  size_t max_bytes = 4u << 20;       // per host: packet bytes + kPacketOverheadBytes per packet
  std::string filter = "tcp";        // BPF (pcap-filter(7)), compiled per interface
  int kernel_buffer_bytes = 1 << 20; // per interface: the AF_PACKET ring
};

struct CapturedPacket {
  int64_t mono_ns = 0;   // CLOCK_MONOTONIC (converted; see the header comment)
  int64_t real_ns = 0;   // CLOCK_REALTIME, as the kernel stamped it and as the file holds it
  std::string ifname;
  std::vector<uint8_t> bytes;  // the first snaplen bytes of the frame
  uint32_t wire_len = 0;       // the frame's length on the wire
  int linktype = 0;            // pcap LINKTYPE_* (1 = Ethernet on veths)
};

// What one packet costs against CaptureOptions::max_bytes besides its captured bytes.
inline constexpr size_t kPacketOverheadBytes = sizeof(CapturedPacket);

struct CaptureStats {
  uint64_t seen = 0;               // packets the reader received (passed the filter)
  uint64_t kept = 0;               // packets in packets()
  uint64_t dropped_by_cap = 0;     // seen but evicted from the ring (seen = kept + dropped_by_cap)
  uint64_t dropped_by_kernel = 0;  // pcap_stats ps_drop: ring full, never seen
  bool truncated = false;          // dropped_by_cap > 0: packets() has a hole after first_part
  size_t first_part = 0;           // packets()[0, first_part) is the first part (each part in time order)
  int64_t clock_offset_start_ns = 0;  // REALTIME - MONOTONIC at start
  int64_t clock_offset_stop_ns = 0;   // and at stop
  int64_t clock_error_bound_ns = 0;   // bound on |mono_ns - true monotonic stamp|
  std::string error;                  // an interface that failed during the capture, else empty
};

// One host's capture: its packets (in time order: first part, then last part), stats and file.
// Read it after CaptureSet::stop(); before that the reader thread owns it.
class HostCapture {
 public:
  const std::string& host() const { return host_; }
  const std::vector<std::string>& ifnames() const { return ifnames_; }
  const std::vector<CapturedPacket>& packets() const { return packets_; }
  const CaptureStats& stats() const { return stats_; }
  // A pcap file with nanosecond timestamps (magic a1b23c4d) that tshark and Wireshark read.
  // All interfaces in one file (one link type); `only_ifname` writes one interface's packets.
  Status write_pcap(const std::string& path, const std::string& only_ifname = "") const;

 private:
  friend class CaptureSet;
  std::string host_;
  std::vector<std::string> ifnames_;
  std::vector<CapturedPacket> packets_;
  CaptureStats stats_;
};

class CaptureSet {
 public:
  struct Target {
    std::string host;                  // a label ("client")
    const NetNs* ns = nullptr;         // used by start() only (a packet socket holds its namespace)
    std::vector<std::string> ifnames;  // "sc0", "sc1" ...
  };
  // Opens every handle (inside its namespace) and starts the reader thread. All or nothing.
  static Result<CaptureSet> start(const std::vector<Target>& targets, CaptureOptions options = {});

  CaptureSet(CaptureSet&&) noexcept;
  CaptureSet& operator=(CaptureSet&&) noexcept;
  ~CaptureSet();  // stops if still running

  // Idempotent. Drains the kernel's rings, reads their drop counters, closes the handles,
  // converts timestamps and orders each host's packets. After it, hosts are final.
  Status stop();
  bool running() const;

  size_t size() const;
  const HostCapture& host(size_t index) const;
  const HostCapture* find(const std::string& host) const;
  // CPU time the reader thread used (user + system), known after stop().
  int64_t reader_cpu_ns() const;

 private:
  struct Impl;
  explicit CaptureSet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A single host's capture: a CaptureSet of one.
class Capture {
 public:
  static Result<Capture> start(const NetNs& ns, const std::vector<std::string>& ifnames, CaptureOptions options = {});
  Status stop() { return set_.stop(); }
  const std::vector<CapturedPacket>& packets() const { return set_.host(0).packets(); }
  CaptureStats stats() const { return set_.host(0).stats(); }
  Status write_pcap(const std::string& path) const { return set_.host(0).write_pcap(path); }
  const HostCapture& host() const { return set_.host(0); }

 private:
  explicit Capture(CaptureSet set) : set_(std::move(set)) {}
  CaptureSet set_;
};

}  // namespace sockchaos::netns
