#include "netns/linkemu/schedule.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "netns/linkemu/distribution.hpp"

namespace sockchaos::linkemu {

uint64_t splitmix64_at(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t direction_seed(uint64_t link_seed, int direction) {
  return splitmix64_at(link_seed ^ 0x6c696e6b656d75ull /* "linkemu" */, static_cast<uint64_t>(direction));
}

FrameInfo describe_frame(const uint8_t* d, size_t len, int64_t arrival_ns) {
  FrameInfo f;
  f.arrival_ns = arrival_ns;
  f.wire_bytes = static_cast<uint32_t>(len);
  f.l2_bytes = std::min<uint32_t>(kEthernetHeader, f.wire_bytes);
  if (len < static_cast<size_t>(kEthernetHeader)) return f;
  size_t off = 12;
  uint16_t type = static_cast<uint16_t>(d[off] << 8 | d[off + 1]);
  while ((type == 0x8100 || type == 0x88a8) && off + 6 <= len) {  // 802.1Q / 802.1ad tags
    off += 4;
    type = static_cast<uint16_t>(d[off] << 8 | d[off + 1]);
  }
  off += 2;
  if (off > len) return f;
  f.l2_bytes = static_cast<uint32_t>(off);
  size_t avail = len - off;
  size_t ip_len = 0;
  if (type == 0x0800 && avail >= 20 && (d[off] >> 4) == 4) {
    ip_len = static_cast<size_t>(d[off + 2] << 8 | d[off + 3]);
  } else if (type == 0x86DD && avail >= 40 && (d[off] >> 4) == 6) {
    ip_len = 40 + static_cast<size_t>(d[off + 4] << 8 | d[off + 5]);
  }
  ip_len = std::min(ip_len, avail);
  if (ip_len > 0) {
    f.ip_offset = static_cast<uint32_t>(off);
    f.ip_length = static_cast<uint32_t>(ip_len);
  }
  return f;
}

const char* to_string(Fate f) {
  switch (f) {
    case Fate::kForward:
      return "forward";
    case Fate::kTooBig:
      return "too_big";
    case Fate::kLost:
      return "lost";
    case Fate::kQueueFull:
      return "queue_full";
  }
  return "forward";
}

DirectionSchedule::DirectionSchedule(const Impairment& impairment, uint64_t seed)
    : impairment_(impairment), seed_(seed) {}

void DirectionSchedule::set(const Impairment& impairment) {
  if (!impairment.gilbert_elliott) ge_bad_ = false;  // a model switched on again starts good
  impairment_ = impairment;
}

bool DirectionSchedule::chance(Stream s, double p) const {
  if (p <= 0) return false;
  if (p >= 1) return true;
  // 53 random bits -> [0, 1): P(u < p) = p exactly up to 2^-53.
  double u = static_cast<double>(draw(s) >> 11) * 0x1.0p-53;
  return u < p;
}

// netem's loss_gilb_ell(): the state a frame finds decides its loss; the transition drawn in the
// same step applies to the next frame (sch_netem.c checks the transition first but keeps the
// case of the state it entered with).
bool DirectionSchedule::lose() {
  if (!impairment_.gilbert_elliott) return chance(kLoss, impairment_.loss);
  const auto& ge = *impairment_.gilbert_elliott;
  if (!ge_bad_) {
    if (chance(kGeTransition, ge.p)) ge_bad_ = true;
    return chance(kGeLoss, 1 - ge.k);
  }
  if (chance(kGeTransition, ge.r)) ge_bad_ = false;
  return chance(kGeLoss, 1 - ge.h);
}

uint64_t DirectionSchedule::backlog_bytes(int64_t now_ns) {
  while (!serializing_.empty() && serializing_.front().departure_ns <= now_ns) {
    serializing_bytes_ -= serializing_.front().bytes;
    serializing_.pop_front();
  }
  return serializing_bytes_;
}

Decision DirectionSchedule::on_arrival(const FrameInfo& frame) {
  Decision d;
  const int64_t arrival = std::max(frame.arrival_ns, last_arrival_ns_);
  last_arrival_ns_ = arrival;
  ++counters_.arrived;
  struct Advance {  // every arrival moves the random counter, whatever becomes of it
    uint64_t& index;
    ~Advance() { ++index; }
  } advance{index_};

  const uint32_t ip_bytes = frame.wire_bytes > frame.l2_bytes ? frame.wire_bytes - frame.l2_bytes : 0;
  if (ip_bytes > static_cast<uint32_t>(impairment_.effective_mtu())) {
    d.fate = Fate::kTooBig;
    ++counters_.too_big;
    return d;
  }
  if (lose()) {
    d.fate = Fate::kLost;
    ++counters_.lost;
    return d;
  }

  int64_t departure = arrival;
  if (impairment_.rate_bps > 0) {
    if (backlog_bytes(arrival) + frame.wire_bytes > impairment_.effective_queue_bytes()) {
      d.fate = Fate::kQueueFull;
      ++counters_.queue_full;
      return d;
    }
    double start = std::max(static_cast<double>(arrival), busy_until_ns_);
    busy_until_ns_ = start + frame.wire_bytes * 8.0 * 1e9 / impairment_.rate_bps;
    departure = static_cast<int64_t>(std::ceil(busy_until_ns_));
    serializing_.push_back({departure, frame.wire_bytes});
    serializing_bytes_ += frame.wire_bytes;
  }

  if (chance(kReorder, impairment_.reorder)) {
    d.release_ns = departure;
    d.reordered = true;
    ++counters_.reordered;
  } else {
    int64_t sigma = impairment_.jitter.count();
    int64_t delay = netem_tabledist(impairment_.delay.count(), sigma, draw(kJitter), impairment_.distribution);
    d.release_ns = std::max(departure + std::max<int64_t>(delay, 0), last_release_ns_);
    last_release_ns_ = d.release_ns;
  }
  if (chance(kDuplicate, impairment_.duplicate)) {
    d.duplicated = true;
    ++counters_.duplicated;
  }
  if (frame.ip_length > 0 && chance(kCorrupt, impairment_.corrupt)) {
    uint64_t bit = draw(kCorruptBit) % (static_cast<uint64_t>(frame.ip_length) * 8);
    d.corrupted = true;
    d.corrupt_offset = frame.ip_offset + static_cast<uint32_t>(bit / 8);
    d.corrupt_mask = static_cast<uint8_t>(1u << (bit % 8));
    ++counters_.corrupted;
  }
  ++counters_.forwarded;
  return d;
}

}  // namespace sockchaos::linkemu
