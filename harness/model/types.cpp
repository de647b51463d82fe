#include "harness/model/types.hpp"

#include <sstream>

namespace sockchaos::harness {

std::string Fault::label() const {
  std::string out = name_string(kind);
  if (kind == FaultKind::drop) {
    std::ostringstream p;
    p << probability;
    out += " " + p.str();
  }
  if (kind == FaultKind::reject) out += " with " + name_string(with);
  out += " on " + on;
  if (is_packet_fault()) out += " (" + name_string(direction) + ")";
  return out;
}

const HostSpec* Scenario::host(const std::string& name) const {
  for (const auto& h : hosts)
    if (h.name == name) return &h;
  return nullptr;
}

std::string Cell::full_id() const { return id.empty() ? scenario_name : scenario_name + "/" + id; }

}  // namespace sockchaos::harness
