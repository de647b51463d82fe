// Named link presets ("profile": "wan-80ms"): the keys of a link object, written out. Plain keys
// apply to both directions; "a_to_b" / "b_to_a" (from the first host of "between" to the
// second, and back) set one direction. A link's own keys override its profile's. The numbers
// are in docs/links.md ("Profiles") and come from what the named path typically measures.
#pragma once
#include <string>
#include <vector>

#include "common/json.hpp"

namespace sockchaos::harness {

struct LinkProfile {
  std::string name;
  std::string description;
  json keys;  // a link object's impairment keys (no "between")
};

const std::vector<LinkProfile>& link_profiles();
const LinkProfile* find_link_profile(const std::string& name);

}  // namespace sockchaos::harness
