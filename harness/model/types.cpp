#include "harness/model/types.hpp"

#include <algorithm>
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
  if (kind == FaultKind::impair && !impair_summary.empty()) out += " " + impair_summary;
  out += " on " + on;
  if (is_packet_fault()) out += " (" + name_string(direction) + ")";
  return out;
}

const HostSpec* Scenario::host(const std::string& name) const {
  for (const auto& h : hosts)
    if (h.name == name) return &h;
  return nullptr;
}

std::string placeholder_problem(const PlaceholderRef& ref, const std::vector<std::string>& hosts, bool ipv6) {
  const std::string& n = ref.name;
  if (n == "server" || n == "port" || n == "dir" || n == "tmp") {
    if (ref.has_arg) return "{" + n + "} takes no argument; got " + ref.text();
    return "";
  }
  if (n == "addr" || n == "addr6") {
    if (!ref.has_arg) return ref.text() + " needs a host name, e.g. {" + n + ":server}";
    if (std::find(hosts.begin(), hosts.end(), ref.arg) == hosts.end()) {
      std::string known;
      for (const auto& h : hosts) known += (known.empty() ? "" : ", ") + h;
      return "unknown host \"" + ref.arg + "\" in " + ref.text() + "; the scenario's hosts are " + known;
    }
    if (n == "addr6" && !ipv6)
      return ref.text() + ": host \"" + ref.arg + "\" has no IPv6 address in an IPv4 scenario; set \"family\" to \"ipv6\" or "
             "\"dual\", or use {addr:" + ref.arg + "}";
    return "";
  }
  return "unknown placeholder " + ref.text() + "; expected " + kPlaceholderList + " (a literal " + ref.text() +
         ", e.g. curl's -w '%{http_code}', is written {" + ref.text() + ")";
}

std::string Cell::full_id() const { return id.empty() ? scenario_name : scenario_name + "/" + id; }

std::string ServerSpec::upstream_host() const {
  std::string host = upstream.substr(0, upstream.rfind(':'));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

bool ServerSpec::upstream_ipv6(IpFamily family) const {
  return family == IpFamily::ipv6 || (family == IpFamily::dual && !upstream.empty() && upstream.front() == '[');
}

}  // namespace sockchaos::harness
