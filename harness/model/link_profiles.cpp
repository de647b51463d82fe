#include "harness/model/link_profiles.hpp"

namespace sockchaos::harness {

const std::vector<LinkProfile>& link_profiles() {
  static const std::vector<LinkProfile> profiles = {
      {"lan", "a data-centre LAN: 0.25 ms RTT, 20 us jitter",
       json::parse(R"({"delay": "125us", "jitter": "10us"})")},
      {"wan-20ms", "a regional WAN: 20 ms RTT, 1 ms jitter",
       json::parse(R"({"delay": "10ms", "jitter": "500us"})")},
      {"wan-80ms", "a cross-region WAN: 80 ms RTT, 2 ms jitter, 0.01% loss",
       json::parse(R"({"delay": "40ms", "jitter": "1ms", "loss": 0.0001})")},
      {"intercontinental", "an intercontinental path: 200 ms RTT, 5 ms jitter, 0.1% loss",
       json::parse(R"({"delay": "100ms", "jitter": "2500us", "loss": 0.001})")},
      {"lossy-wifi", "a busy Wi-Fi hop: 6 ms RTT, 2 ms jitter, bursty loss of about 2.9% (Gilbert-Elliott), 50 Mbit/s",
       json::parse(R"({"delay": "3ms", "jitter": "1ms",
                       "loss_model": {"gilbert_elliott": {"p": 0.01, "r": 0.25, "h": 0.25, "k": 1}},
                       "rate": "50Mbit", "queue": "256KiB"})")},
      {"3g", "a 3G mobile link: 200 ms RTT, 20 ms jitter, 1% loss, 2 Mbit/s down, 768 kbit/s up",
       json::parse(R"({"delay": "100ms", "jitter": "10ms", "loss": 0.01, "queue": "64KiB",
                       "a_to_b": {"rate": "768kbit"}, "b_to_a": {"rate": "2Mbit"}})")},
      {"dsl", "a DSL line: 30 ms RTT, 2 ms jitter, 16 Mbit/s down, 1 Mbit/s up",
       json::parse(R"({"delay": "15ms", "jitter": "1ms", "queue": "128KiB",
                       "a_to_b": {"rate": "1Mbit"}, "b_to_a": {"rate": "16Mbit"}})")},
      {"satellite", "a geostationary satellite link: 600 ms RTT, 10 ms jitter, 0.5% loss, 10 Mbit/s",
       json::parse(R"({"delay": "300ms", "jitter": "5ms", "loss": 0.005, "rate": "10Mbit", "queue": "1MiB"})")},
  };
  return profiles;
}

const LinkProfile* find_link_profile(const std::string& name) {
  for (const auto& p : link_profiles())
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace sockchaos::harness
