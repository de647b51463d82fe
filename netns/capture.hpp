// Packet captures of the hosts of a cell: one packet socket per interface, each created while
// the calling thread is inside the host's namespace (a packet socket belongs to the namespace
// it is created in). libpcap compiles the filters and writes the files; no libpcap type leaves
// the .cpp.
//
// Why not libpcap's live handles: capture is on in every cell, and a libpcap handle (a packet
// socket with a TPACKET ring) waits for RCU grace periods as it is opened and closed
// (net/packet/af_packet.c: packet_do_bind rebinding a running socket, packet_set_ring, and
// packet_release each call synchronize_net()). Measured: starting 2 handles took 16.5 ms, the
// closes after stop 28 ms, against a trivial cell of ~6 ms. Here each socket is created with
// protocol 0 (packet_create registers no hook), given its filter and options, then bound to its
// interface and ETH_P_ALL, which registers the hook without a grace period; it has no ring:
// packets queue on the socket and are read in batches (recvmmsg), with the kernel's software
// receive timestamp (SO_TIMESTAMPING) and the original length (PACKET_AUXDATA). Closing still
// waits for a grace period (packet_release), so stop() hands the sockets to process-wide
// background threads that close them; stop() and destruction return at once. Start + stop of
// two hosts now costs ~0.2 ms (docs/evidence.md, "Cost").
//
// Why per-interface sockets and not one per host: each gives DLT_EN10MB frames exactly as they
// crossed that interface (MAC addresses say which link), so each packet appears once per
// interface and the files open in Wireshark/tshark as ordinary Ethernet captures; a socket
// bound to one device also sits on that device's own tap list, not on every packet's path.
// A host's own transmissions on `lo` come back as received, so there (as libpcap does) only
// the received copy is kept. A VLAN tag the receive path moved into the skb is put back into
// the frame. Only Ethernet-framed interfaces are captured (veth, ifb, lo).
//
// One reader thread serves every interface of every host of a CaptureSet. It sleeps in poll()
// until a packet comes, then reads every millisecond while packets keep coming (sooner when a
// socket's queue passes a quarter of its buffer) and goes back to poll() when a read finds
// nothing: a thread asleep in poll() would be woken by every packet, at the sender's expense.
// stop() does the final read itself: it replaces each socket's filter by one that takes
// nothing, reads what the kernel still holds, reads the drop counter (PACKET_STATISTICS) and
// hands the socket to the closer; the reader thread ends by itself. The cell's own timing loop
// never waits on it.
//
// What a host's capture sees: every packet its interfaces send and receive, arriving ones
// before the host's own nftables rules (AF_PACKET taps __netif_receive_skb_core, ahead of the
// prerouting hook): a packet a blackhole drops at this host's ingress is in its capture, as
// received on the wire and never delivered. A sent packet is stamped once for every tap of its
// interface (dev_queue_xmit_nit clones and stamps it once), a received one as the stack takes
// it in, before the taps.
//
// Memory per host is bounded by CaptureOptions::max_bytes (captured bytes plus a fixed
// overhead per packet). When the cap is reached the capture keeps its first half as it was and
// the most recent packets in a ring for the rest: packets() is the first part, then the last
// part, and CaptureStats says how many were seen, kept, dropped by the cap and by the kernel.
// In the kernel, each interface's queue is bounded by kernel_buffer_bytes (SO_RCVBUF: counted
// in skb truesize, taken only while packets wait; SO_RCVBUFFORCE where allowed, else capped at
// twice net.core.rmem_max, e.g. under `unshare -Urn`).
//
// Time: the kernel stamps packets with CLOCK_REALTIME (nanosecond precision is kept and
// written to the files, which Wireshark shows as wall-clock time). Each packet also gets a
// CLOCK_MONOTONIC time, the clock of everything else sockchaos measures: mono = real - offset,
// where offset = REALTIME - MONOTONIC is measured at start and at stop (each the tightest of
// several clock_gettime sandwiches) and interpolated linearly in between. The error of a
// converted time is at most CaptureStats::clock_error_bound_ns = the larger sandwich
// half-width + |offset at stop - offset at start| (the whole change, as if the realtime clock
// had been stepped at the worst moment; NTP slewing, which is linear, is mostly corrected).
// The kernel stamps in software only while some socket asks for it (netstamp_needed_key): the
// process keeps one asking from its first capture on, and that first capture waits until a
// probe frame comes back stamped; a packet found without a stamp anyway is stamped when read
// and counted in CaptureStats::unstamped.
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
  std::string filter = "tcp";        // BPF (pcap-filter(7)) for Ethernet frames, run by the kernel
                                     // (the "vlan" primitive sees a tag only where it is still in
                                     // the frame: in sent copies, not in received ones)
  int kernel_buffer_bytes = 16 << 20; // per interface: the packet socket's receive buffer (SO_RCVBUF)
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
  uint64_t dropped_by_kernel = 0;  // PACKET_STATISTICS tp_drops: the socket's queue was full, never seen
  bool truncated = false;          // dropped_by_cap > 0: packets() has a hole after first_part
  size_t first_part = 0;           // packets()[0, first_part) is the first part (each part in time order)
  int64_t clock_offset_start_ns = 0;  // REALTIME - MONOTONIC at start
  int64_t clock_offset_stop_ns = 0;   // and at stop
  int64_t clock_error_bound_ns = 0;   // bound on |mono_ns - true monotonic stamp|
  uint64_t unstamped = 0;             // packets the kernel gave no timestamp: stamped when read
  int kernel_buffer_bytes = 0;        // the largest receive buffer the kernel granted one of the
                                      // host's interfaces (SO_RCVBUF)
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
  // Opens every interface's socket (inside its namespace) and starts the reader thread. All or
  // nothing (sockets already open go to the background closer).
  static Result<CaptureSet> start(const std::vector<Target>& targets, CaptureOptions options = {});

  CaptureSet(CaptureSet&&) noexcept;
  CaptureSet& operator=(CaptureSet&&) noexcept;
  ~CaptureSet();  // stops if still running

  // Idempotent. Reads what the kernel still holds for each socket and its drop counter, hands
  // the sockets to the background closer, converts timestamps and orders each host's packets.
  // After it, hosts are final.
  Status stop();
  bool running() const;

  size_t size() const;
  const HostCapture& host(size_t index) const;
  const HostCapture* find(const std::string& host) const;
  // CPU time the reader thread used (user + system) until stop(), known after stop().
  int64_t reader_cpu_ns() const;

 private:
  struct Impl;
  explicit CaptureSet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Waits until every packet socket stop() or destruction handed to the background closer is
// closed (each close waits for an RCU grace period); false if some are still open after
// `timeout_ns`. Nothing needs to call it: for tests, and for whoever wants the namespaces the
// sockets hold gone before going on.
bool wait_for_background_closes(int64_t timeout_ns);

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
