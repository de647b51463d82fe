// A link that behaves like a real network path (delay, jitter, loss, Gilbert–Elliott bursts,
// duplication, reordering, corruption, a rate with its queue, an MTU) without sch_netem.
//
//   ns_a: a_if ===veth=== [a  W  b] ===veth=== b_if :ns_b
//
// W is a "wire" namespace of its own with no addresses (IPv6 off, nothing of its own to send).
// One forwarder thread per direction reads every Ethernet frame arriving on one of W's ends
// (AF_PACKET TPACKET_V2 ring: ARP, ND, anything), asks the direction's DirectionSchedule
// (netns/linkemu/schedule.hpp) what becomes of it, holds it until its release time and sends it
// out of the other end (AF_PACKET, PACKET_QDISC_BYPASS), sleeping in poll() on the ring, a
// timerfd armed at the next release and an eventfd for control: no busy loop. The hosts keep
// their interfaces (addresses, nftables faults, carrier) as on a plain veth pair; only their
// transmit checksum and segmentation offloads are off, so every frame on the wire is a real,
// checksummed, MTU-sized frame (docs/links.md says why).
//
// Everything is held by this object: destroying it stops the threads and closes W, which takes
// both veth pairs (and so a_if and b_if) with it. Sockets are made inside W; a user namespace
// owning the namespaces (unshare -Urn) is enough privilege.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "common/json.hpp"
#include "common/result.hpp"
#include "netns/linkemu/impairment.hpp"
#include "netns/netns.hpp"

namespace sockchaos::netns {

using linkemu::Distribution;
using linkemu::GilbertElliott;
using linkemu::Impairment;

enum class Direction { kAToB = 0, kBToA = 1 };
const char* to_string(Direction d);

struct LinkDirectionStats {
  uint64_t received = 0;   // frames read from the wire's ingress end
  uint64_t forwarded = 0;  // frames sent out of the egress end (duplicates included)
  uint64_t bytes_forwarded = 0;
  uint64_t dropped_loss = 0;      // `loss` / the Gilbert–Elliott model
  uint64_t dropped_queue = 0;     // the rate limiter's queue was full (tail drop)
  uint64_t dropped_mtu = 0;       // larger than the mtu
  uint64_t dropped_overflow = 0;  // the forwarder's own hold limit (kMaxHeldBytes) was reached
  uint64_t dropped_socket = 0;    // the receive socket was full when a frame came (the forwarder fell behind)
  uint64_t send_errors = 0;       // the egress end refused a frame (e.g. its peer is down)
  uint64_t duplicated = 0, corrupted = 0, reordered = 0;
  uint64_t held = 0;       // frames waiting for their release time now
  uint64_t unstamped = 0;  // arrivals timed by the forwarder's read, not the kernel's stamp
  Nanos cpu{0};            // the direction's forwarder thread's CPU time
};

struct LinkStats {
  uint64_t seed = 0;
  LinkDirectionStats a_to_b, b_to_a;
  const LinkDirectionStats& of(Direction d) const { return d == Direction::kAToB ? a_to_b : b_to_a; }
};
json to_json(const LinkStats& stats);

class LinkEmulator {
 public:
  // Creates W and the two veth pairs (a_if inside ns_a, b_if inside ns_b, all four ends up,
  // MTU from the impairments), starts the forwarders. Frames can cross as soon as it returns
  // (the hosts still wait for their ends to be operational, as for any veth).
  // `wire`: W made beforehand by wire_namespace() (side by side with the hosts' namespaces,
  // which the kernel sets up in parallel: one namespace costs ~2-5 ms, most of an emulated
  // link's set-up), or made here when absent.
  static Result<LinkEmulator> create(const NetNs& ns_a, const std::string& a_if, const NetNs& ns_b,
                                     const std::string& b_if, const Impairment& a_to_b, const Impairment& b_to_a,
                                     uint64_t seed, std::optional<NetNs> wire = std::nullopt);
  // A new, empty wire namespace W, as create() wants it.
  static Result<NetNs> wire_namespace();
  LinkEmulator(LinkEmulator&&) noexcept;
  LinkEmulator& operator=(LinkEmulator&&) noexcept;
  ~LinkEmulator();

  // Replaces one direction's impairment as a whole, between two frames; returns once the
  // forwarder has taken it (frames already scheduled keep their times). An mtu above the one
  // the link was made with is refused; a lower one makes the wire drop larger frames while
  // the hosts keep theirs (an MTU black hole).
  Status set(Direction direction, const Impairment& impairment);
  Impairment impairment(Direction direction) const;

  LinkStats stats() const;
  uint64_t seed() const;
  const NetNs& wire() const;  // W, for inspection (tests, captures)

  // The forwarder never holds more than this per direction (frames beyond are dropped_overflow).
  static constexpr uint64_t kMaxHeldBytes = 64ull << 20;

 private:
  struct Impl;
  explicit LinkEmulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockchaos::netns
