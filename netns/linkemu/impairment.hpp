// What one direction of an emulated link does to the frames crossing it: the scenario keys
// `delay`, `jitter`, `distribution`, `loss`, `loss_model`, `duplicate`, `reorder`, `corrupt`,
// `rate`, `queue`, `mtu`. Pure values (no kernel code), shared by the built-in forwarder
// (netns/link_emulator.hpp), the netem backend (netns/netem.hpp), their tests and benchmarks.
//
// Conventions: probabilities are fractions in [0, 1] (not percent); `rate_bps` is bits per
// second of Ethernet frames as the kernel counts them (destination MAC to the end of the
// payload, no preamble/FCS — what netem and TBF count); 0 means "not set" for rate_bps,
// queue_bytes and mtu. The Gilbert–Elliott parameters are netem's (sch_netem.c
// loss_gilb_ell(), tc-netem(8) "loss gemodel"): p = P(good -> bad), r = P(bad -> good),
// 1 - h = loss probability in the bad state, 1 - k = loss probability in the good state.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"

namespace sockchaos::linkemu {

enum class Distribution { kNormal, kUniform, kPareto, kParetoNormal };
const char* to_string(Distribution d);
std::optional<Distribution> parse_distribution(const std::string& text);

struct GilbertElliott {
  double p = 0;  // good -> bad
  double r = 1;  // bad -> good (tc's default is 1 - p; impairment_from_json applies it)
  double h = 0;  // delivery probability in the bad state (tc's default 1 - h = 1: bad loses all)
  double k = 1;  // delivery probability in the good state (tc's default 1 - k = 0)
  bool operator==(const GilbertElliott&) const = default;
  // Long-run loss fraction: pi_bad (1 - h) + pi_good (1 - k), pi_bad = p / (p + r).
  double stationary_loss() const;
};

inline constexpr int kDefaultMtu = 1500;
inline constexpr int kEthernetHeader = 14;
inline constexpr uint64_t kDefaultQueueFrames = 1000;  // a Linux interface's txqueuelen

struct Impairment {
  Nanos delay{0};
  Nanos jitter{0};
  Distribution distribution = Distribution::kNormal;  // of the jitter (tc-netem's default)
  double loss = 0;
  std::optional<GilbertElliott> gilbert_elliott;  // replaces `loss` (netem: one loss model)
  double duplicate = 0;
  double reorder = 0;        // fraction sent at once, ahead of the delayed rest (needs a delay)
  double corrupt = 0;        // fraction of IP packets with one bit flipped inside the IP packet
  double rate_bps = 0;       // serialization rate; 0 = unlimited
  uint64_t queue_bytes = 0;  // the rate limiter's queue (tail drop beyond); 0 = default
  int mtu = 0;               // largest IP packet the link carries; 0 = 1500

  bool operator==(const Impairment&) const = default;
  int effective_mtu() const { return mtu > 0 ? mtu : kDefaultMtu; }
  // 1000 full-size frames when unset, like a txqueuelen of 1000.
  uint64_t effective_queue_bytes() const {
    return queue_bytes ? queue_bytes : kDefaultQueueFrames * static_cast<uint64_t>(effective_mtu() + kEthernetHeader);
  }
  bool is_clean() const;  // forwards every frame unchanged, at once
};

// One thing wrong with an impairment: `pointer` is relative to the direction's object
// ("/delay", "/loss_model/gilbert_elliott/p"), so callers prefix the scenario's JSON Pointer.
struct ImpairmentProblem {
  std::string pointer;
  std::string message;
};

// Every problem, in words (empty when valid): negative or absurd values (delay > 60 s,
// probabilities outside [0, 1], a rate under 1 kbit/s, a queue smaller than one frame, a
// queue without a rate, reorder without delay, loss together with a loss model ...).
std::vector<ImpairmentProblem> validate(const Impairment& impairment);

// The scenario keys of one direction, strictly: unknown keys, wrong types and invalid values
// are problems (pointers relative to `j`); nullopt when there is any.
std::optional<Impairment> impairment_from_json(const json& j, std::vector<ImpairmentProblem>* problems);
json to_json(const Impairment& impairment);  // only the keys that differ from a clean link

// "10Mbit", "1.5Gbit", "64kbit", "800bit" (SI prefixes, case-insensitive, optional "/s") ->
// bits per second. A bare number is an error whose message suggests the unit form.
std::optional<double> parse_bit_rate(const std::string& text, std::string* why = nullptr);
std::string format_bit_rate(double bps);  // "10Mbit", "1.5Gbit", "64kbit"
// "64KiB", "1MiB", "1500B", "100kB" -> bytes.
std::optional<uint64_t> parse_byte_size(const std::string& text, std::string* why = nullptr);

}  // namespace sockchaos::linkemu
