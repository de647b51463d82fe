// Puts faults into a cell's network and takes them out again — the one place that does it,
// for scenario cells (runner) and the Python Lab alike.
//
// Time stamps: a packet fault's time is taken right after its first rule commit (the other
// namespaces follow within a fraction of a millisecond), and the commit's start is kept too
// (begin_ns): the rule acts somewhere between the two, so a peer that reacts to it (a RST)
// while the orchestrator is still in the commit call, or descheduled right after it, has an
// error time before at_ns but not before begin_ns. A process or link fault's time is taken
// right before the signal or link change, which acts at once (begin_ns == at_ns).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "harness/world/faults.hpp"
#include "harness/world/process.hpp"
#include "harness/world/topology.hpp"

namespace sockchaos::harness {

class FaultInjector {
 public:
  // processes_on(host): the workload processes a kill / pause / crash acts on.
  FaultInjector(Topology& topology, std::function<std::vector<ChildProcess*>(const std::string&)> processes_on);

  struct Installed {
    int64_t at_ns = -1;
    int64_t begin_ns = -1;  // the first commit's start (== at_ns for a fault without rules)
    std::vector<NamespaceRules> rules;  // what heal() removes
  };
  // Opens, ahead of time, the nftables context of every host these faults' rules go to, so
  // that install() at the fault's moment only commits (a context takes a helper thread and the
  // process-wide low-fd lock: netns/nft.hpp; under load that was 100s of ms, on the clock).
  Status prepare(const std::vector<Fault>& faults);
  // index: the fault's number in its cell (names its nftables chains).
  Result<Installed> install(const Fault& fault, int index);
  // Returns the heal time. A crash's host comes back empty: restarting its service is the
  // caller's business.
  Result<int64_t> heal(const Fault& fault, const Installed& installed);

 private:
  Result<netns::NftContext*> nft(const std::string& host);
  Status set_links(const std::string& host, bool up);

  Topology& topology_;
  std::function<std::vector<ChildProcess*>(const std::string&)> processes_on_;
  std::map<std::string, netns::NftContext> nft_;
};

// A fault of a cell or of the Lab, with what was done about it.
struct ActiveFault {
  Fault fault;
  int index = 0;  // its number in the cell (names its nftables chains)
  int64_t installed = -1, healed = -1;
  int64_t install_began = -1;  // see FaultInjector::Installed::begin_ns
  FaultInjector::Installed applied;
  bool pending() const { return installed < 0; }
  bool active() const { return installed >= 0 && healed < 0; }
};

}  // namespace sockchaos::harness
