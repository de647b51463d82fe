#include "harness/model/types.hpp"

#include <sstream>

namespace sockchaos::harness {

std::string Fault::label() const {
  std::string out = kind;
  if (kind == "drop") {
    std::ostringstream p;
    p << probability;
    out += " " + p.str();
  }
  if (kind == "reject") out += " with " + with;
  out += " on " + on;
  if (kind == "blackhole" || kind == "drop" || kind == "reject" || kind == "crash") out += " (" + direction + ")";
  return out;
}

bool Fault::is_packet_fault() const {
  return kind == "blackhole" || kind == "drop" || kind == "reject" || kind == "crash";
}

const HostSpec* Scenario::host(const std::string& name) const {
  for (const auto& h : hosts)
    if (h.name == name) return &h;
  return nullptr;
}

std::string Cell::full_id() const { return id.empty() ? scenario_name : scenario_name + "/" + id; }

}  // namespace sockchaos::harness
