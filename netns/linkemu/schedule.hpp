// The decisions of one direction of an emulated link, as a pure function of the frames'
// arrival times and sizes, the impairment and a seed: when each frame leaves, or why it is
// dropped, duplicated, corrupted or reordered. No kernel code: the forwarder
// (netns/link_emulator.cpp) asks it about every frame, and the unit tests and benchmarks ask
// it the same questions without one.
//
// A frame's path, in this order (docs/links.md explains each choice against netem's):
//   1. too big: its IP packet exceeds the mtu                      -> dropped (kTooBig)
//   2. lost: Bernoulli `loss`, or the Gilbert–Elliott chain         -> dropped (kLost)
//   3. rate: it queues for the serializer (`rate`, `queue` bytes); a
//      full queue tail-drops it (kQueueFull); otherwise it departs
//      when its last bit is out: max(arrival, previous departure) + bits / rate
//   4. reorder: with probability `reorder` it is released at its departure, skipping the delay
//      line, i.e. ahead of frames still in flight
//   5. delay line: released at departure + delay + jitter, but never before the previous
//      frame of the delay line: every flow stays in order (netem reorders with jitter; this is
//      netem with a FIFO child, the head-of-line rule tc-netem(8) recommends to avoid that)
//   6. duplicate: a second copy leaves right after it; corrupt: one bit of its IP packet flips
//
// Replay: every random choice about the n-th arriving frame is drawn from a counter-based
// generator at (seed, n), so a run with the same seed and the same arrival sequence takes the
// same decisions, and a frame's loss does not depend on the timing of the frames before it.
#pragma once
#include <cstdint>
#include <deque>

#include "netns/linkemu/impairment.hpp"

namespace sockchaos::linkemu {

// SplitMix64 (Steele, Lea, Flood 2014): the output function over a Weyl sequence. Position
// `index` of the stream from `seed`.
uint64_t splitmix64_at(uint64_t seed, uint64_t index);
// The per-direction seed a link derives from the one the user sees (0 = a to b, 1 = b to a).
uint64_t direction_seed(uint64_t link_seed, int direction);

// What the forwarder knows about a frame before deciding.
struct FrameInfo {
  int64_t arrival_ns = 0;               // CLOCK_MONOTONIC
  uint32_t wire_bytes = 0;              // the whole frame, Ethernet header included (what `rate` counts)
  uint32_t l2_bytes = kEthernetHeader;  // link-layer header(s): the rest is the IP packet (mtu)
  uint32_t ip_offset = 0;               // the IP packet inside the frame; ip_length 0 = not IP (never corrupted)
  uint32_t ip_length = 0;
};

// Reads an Ethernet frame: link-layer header (802.1Q/802.1ad tags included) and, for IPv4
// and IPv6, the IP packet's extent by its own length field (padding excluded).
FrameInfo describe_frame(const uint8_t* data, size_t length, int64_t arrival_ns);

enum class Fate : uint8_t { kForward, kTooBig, kLost, kQueueFull };
const char* to_string(Fate f);

struct Decision {
  Fate fate = Fate::kForward;
  int64_t release_ns = 0;   // when to send it (kForward only)
  bool reordered = false;   // released ahead of the delay line
  bool duplicated = false;  // send a second, identical copy right after
  bool corrupted = false;   // flip corrupt_mask in byte corrupt_offset of the frame
  uint32_t corrupt_offset = 0;
  uint8_t corrupt_mask = 0;
};

struct ScheduleCounters {
  uint64_t arrived = 0, forwarded = 0, too_big = 0, lost = 0, queue_full = 0;
  uint64_t reordered = 0, duplicated = 0, corrupted = 0;
};

class DirectionSchedule {
 public:
  DirectionSchedule(const Impairment& impairment, uint64_t seed);

  // From the next arrival on (frames already decided keep their times, like packets already on
  // a wire). Keeps the Gilbert–Elliott state while the model stays on.
  void set(const Impairment& impairment);
  const Impairment& impairment() const { return impairment_; }

  // Arrivals must come in time order; an earlier time than the last one is taken as the last.
  Decision on_arrival(const FrameInfo& frame);

  const ScheduleCounters& counters() const { return counters_; }
  uint64_t seed() const { return seed_; }
  bool in_bad_state() const { return ge_bad_; }
  // Bytes accepted by the serializer whose last bit is not out yet at `now_ns`.
  uint64_t backlog_bytes(int64_t now_ns);

 private:
  enum Stream : uint64_t {
    kLoss,
    kGeTransition,
    kGeLoss,
    kDuplicate,
    kCorrupt,
    kCorruptBit,
    kReorder,
    kJitter,
    kStreams
  };
  uint64_t draw(Stream s) const { return splitmix64_at(seed_, index_ * kStreams + s); }
  bool chance(Stream s, double p) const;
  bool lose();

  Impairment impairment_;
  uint64_t seed_;
  uint64_t index_ = 0;  // arrivals so far: the counter of every random draw
  int64_t last_arrival_ns_ = INT64_MIN;
  bool ge_bad_ = false;
  double busy_until_ns_ = 0;  // when the serializer finishes the last accepted frame
  struct Queued {
    int64_t departure_ns;
    uint32_t bytes;
  };
  std::deque<Queued> serializing_;
  uint64_t serializing_bytes_ = 0;
  int64_t last_release_ns_ = INT64_MIN;  // of the delay line
  ScheduleCounters counters_;
};

}  // namespace sockchaos::linkemu
