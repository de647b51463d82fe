// The Lab: the hosts and links of a scenario's network (by default a client host and a server
// host) around the user's own code, for the Python bindings. The user's thread enters a host's namespace
// (ScopedNetns) to make sockets there; the Lab starts server agents, installs and heals faults
// and counts sockets the same way a scenario cell does.
//
// Every parameter goes through the scenario parser: the Lab builds a small scenario document
// around it, so a server or a fault is validated exactly as in a file. Issues are reported with
// pointers relative to the part given (e.g. "/probability" for lab.fault), file "<lab.fault>".
//
// Everything is held by this object: namespaces by fd, agents as children (PDEATHSIG tied to
// the thread that started them), nftables contexts. close() (or the destructor) kills the
// agents and drops the rest; the namespaces vanish when nothing else holds them.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "harness/model/load.hpp"
#include "netns/census.hpp"

namespace sockchaos::harness {

class Lab {
 public:
  // `hosts` is a scenario "hosts" object: {"client": {"sysctl": {...}}, "server": {...}};
  // `links` a scenario "links" list ([["client", "proxy"], ["proxy", "server"]]) or null for
  // the scenario default (client - server). Any topology a scenario can build.
  // Throws ScenarioError (invalid hosts, links or sysctl) or EnvironmentError (no privilege).
  // family: "ipv4" (default), "ipv6" or "dual", as a scenario's "family".
  static std::unique_ptr<Lab> create(const json& hosts, const std::string& agent_path, const json& links = nullptr,
                                     const std::string& family = "ipv4");
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  // `server` is a scenario "server" object; "on" defaults to the host "server" (or the last
  // host when there is none). Starts a server agent (or the user's command) and waits until it
  // listens. Throws ScenarioError for invalid parameters, std::runtime_error when it cannot start.
  void start_server(const json& server);

  // `fault` is a scenario fault object without "at"/"until": it is installed now. Returns a
  // fault id; *installed_ns is its CLOCK_MONOTONIC time (taken like a cell's fault time).
  int install_fault(const json& fault, int64_t* installed_ns);
  // Returns the CLOCK_MONOTONIC time of the heal. Healing twice is a no-op (returns -1).
  int64_t heal_fault(int id);
  std::string fault_label(int id) const;

  // The host's address on its first link: IPv4, or IPv6 with `ipv6` (or in an "ipv6" lab).
  std::string address(const std::string& host, bool ipv6 = false) const;
  // The address `from` reaches `host` by (its interface facing `from` when they share a link).
  std::string address_from(const std::string& host, const std::string& from, bool ipv6 = false) const;
  int netns_fd(const std::string& host) const;
  StateCounts sockets(const std::string& host);
  std::vector<std::string> host_names() const;
  std::vector<int> server_pids() const;

  void close();  // idempotent
  bool closed() const;

 private:
  struct Impl;
  explicit Lab(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockchaos::harness
