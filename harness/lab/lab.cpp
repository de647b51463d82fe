#include "harness/lab/lab.hpp"

#include "common/limits.hpp"
#include "harness/world/user_command.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "harness/protocol/events.hpp"
#include "harness/world/fault_injector.hpp"
#include "harness/world/launcher.hpp"
#include "harness/world/scratch.hpp"
#include "harness/world/faults.hpp"
#include "harness/world/process.hpp"
#include "harness/run/runner.hpp"
#include "harness/world/environment.hpp"
#include "harness/world/scratch.hpp"
#include "harness/world/topology.hpp"
#include "netns/link.hpp"

namespace sockchaos::harness {

namespace {


// The host a part runs on when it does not say: "server" / "client" when the lab has them,
// else the last / first host.
std::string default_host(const json& hosts, const std::string& preferred, bool last) {
  if (!hosts.is_object() || hosts.empty() || hosts.contains(preferred)) return preferred;
  std::string pick;
  for (const auto& [name, spec] : hosts.items()) {
    if (pick.empty() || last) pick = name;
    if (!last) break;
  }
  return pick;
}

// The scenario a lab part is validated in: the lab's hosts and links, an idle client, a server.
json lab_document(const json& hosts, const json& links, const std::string& family) {
  json doc = json::object();
  doc["name"] = "lab";
  if (family != "ipv4") doc["family"] = family;
  doc["hosts"] = hosts;
  if (!links.is_null()) doc["links"] = links;
  const std::string server = default_host(hosts, "server", true), client = default_host(hosts, "client", false);
  doc["server"] = {{"on", server}, {"port", 7000}, {"behavior", "echo"}};
  doc["client"] = {{"on", client}, {"connect", server + ":7000"}, {"workload", {{"kind", "idle"}}}};
  return doc;
}

// Loads `doc`; issues under `prefix` are reported relative to it, in file `label`.
Scenario load_part(const json& doc, const std::string& prefix, const std::string& label) {
  try {
    return load_scenario_json(doc, label);
  } catch (const ScenarioError& e) {
    std::vector<InputIssue> issues;
    for (auto issue : e.issues()) {
      if (issue.pointer.rfind(prefix, 0) == 0 &&
          (issue.pointer.size() == prefix.size() || issue.pointer[prefix.size()] == '/'))
        issue.pointer = issue.pointer.substr(prefix.size());
      issue.file = label;
      issue.line = 0;
      issues.push_back(std::move(issue));
    }
    throw ScenarioError(std::move(issues));
  }
}

[[noreturn]] void throw_issue(const std::string& label, const std::string& pointer, const std::string& message) {
  throw ScenarioError({InputIssue{label, pointer, 0, message}});
}


}  // namespace

struct Lab::Impl {
  json hosts, links;
  std::string agent_path;
  Scenario scenario;
  std::optional<Topology> topo;
  std::map<std::string, netns::Census> census;
  std::vector<ChildProcess> servers;
  std::vector<std::string> server_hosts;  // parallel to servers
  ScratchDir scratch;  // {tmp} of command servers, made on first use, removed at close
  std::optional<FaultInjector> injector;
  std::vector<ActiveFault> faults;
  mutable std::mutex mutex;
  bool closed = false;

  // Agents write events to a pipe with blocking writes: keep reading (and discarding) them
  // so a long-lived server never stalls on a full pipe.
  std::thread drain;
  int wake_fd = -1;
  std::mutex drain_mutex;
  std::vector<int> drain_fds;
  bool drain_stop = false;

  void start_drain() {
    wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0) throw std::runtime_error(Error::system("eventfd").str());
    drain = std::thread([this] { drain_loop(); });
  }

  void drain_loop() {
    for (;;) {
      std::vector<pollfd> fds;
      {
        std::lock_guard<std::mutex> lock(drain_mutex);
        if (drain_stop) return;
        for (int fd : drain_fds) fds.push_back({fd, POLLIN, 0});
      }
      fds.push_back({wake_fd, POLLIN, 0});
      int rc = ::poll(fds.data(), fds.size(), 250);
      if (rc <= 0) continue;
      for (size_t i = 0; i + 1 < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        char buf[4096];
        bool eof = false;
        for (int n = 0; n < 64; ++n) {  // bounded: at most 256 KiB per wake
          ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
          if (r > 0) continue;
          eof = r == 0 || (errno != EAGAIN && errno != EINTR);
          break;
        }
        if (eof) {
          std::lock_guard<std::mutex> lock(drain_mutex);
          std::erase(drain_fds, fds[i].fd);
        }
      }
      if (fds.back().revents) {
        uint64_t v;
        (void)!::read(wake_fd, &v, sizeof v);
      }
    }
  }

  void add_drain(int fd) {
    std::lock_guard<std::mutex> lock(drain_mutex);
    drain_fds.push_back(fd);
    uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof one);
  }

  void stop_drain() {
    if (drain.joinable()) {
      {
        std::lock_guard<std::mutex> lock(drain_mutex);
        drain_stop = true;
        drain_fds.clear();
      }
      uint64_t one = 1;
      (void)!::write(wake_fd, &one, sizeof one);
      drain.join();
    }
    if (wake_fd >= 0) ::close(wake_fd);
    wake_fd = -1;
  }

  // A server as in a scenario: an agent, or the user's own program (placeholders expanded, PID 1
  // of its own PID namespace), ready when it listens. Its output is drained from then on.
  void start(const ServerSpec& spec) {
    LaunchEnv env;
    env.agent_path = agent_path;
    env.topology = &*topo;
    if (spec.behavior == ServerBehavior::command && scratch.empty()) {
      auto made = make_scratch_dir("lab");
      if (!made.ok()) throw std::runtime_error(made.error().str());
      scratch = std::move(made.value());
    }
    std::error_code ec;
    const std::string client = scenario.client.on;
    env.placeholders = {topo->address_for(spec.on, client, topo->family() == IpFamily::ipv6), std::to_string(spec.port),
                        std::filesystem::current_path(ec).string(), scratch.path(), {}, {}};
    std::string upstream_address;
    if (spec.behavior == ServerBehavior::proxy) {
      const std::string up_host = spec.upstream_host();
      host(up_host);
      upstream_address = topo->address_for(up_host, spec.on, spec.upstream_ipv6(topo->family()));
    }
    auto started = harness::start_server(host(spec.on), spec, upstream_address, env, census_of(spec.on), "server");
    if (!started.ok()) throw std::runtime_error(started.error().str());
    ChildProcess proc = std::move(started->process);
    add_drain(proc.stdout_fd());
    add_drain(proc.stderr_fd());
    servers.push_back(std::move(proc));
    server_hosts.push_back(spec.on);
  }

  // A host's inet_diag census, opened on first use.
  netns::Census& census_of(const std::string& name) {
    auto it = census.find(name);
    if (it == census.end()) {
      auto c = netns::Census::open(host(name).ns);
      if (!c.ok()) throw std::runtime_error("socket census (inet_diag) in host " + name + ": " + c.error().str());
      it = census.emplace(name, std::move(c.value())).first;
    }
    return it->second;
  }

  void check_open() const {
    if (closed) throw std::runtime_error("the lab is closed");
  }

  const Host& host(const std::string& name) const {
    if (!topo->has_host(name)) {
      std::string known;
      for (const auto& h : topo->plan().hosts) known += (known.empty() ? "\"" : ", \"") + h.name + "\"";
      throw std::invalid_argument("unknown host \"" + name + "\": the lab has " + known);
    }
    return topo->host(name);
  }

  std::vector<ChildProcess*> processes_on(const std::string& name) {
    std::vector<ChildProcess*> v;
    for (size_t i = 0; i < servers.size(); ++i)
      if (server_hosts[i] == name) v.push_back(&servers[i]);
    return v;
  }

  void shutdown() {
    if (closed) return;
    closed = true;
    stop_drain();
    for (auto& s : servers) s.kill_and_reap();
    servers.clear();
    server_hosts.clear();
    injector.reset();
    census.clear();
    topo.reset();
    scratch.remove();
  }
};

Lab::Lab(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { raise_open_file_limit(); }

Lab::~Lab() {
  if (impl_) impl_->shutdown();
}

std::unique_ptr<Lab> Lab::create(const json& hosts, const std::string& agent_path, const json& links,
                                 const std::string& family) {
  auto impl = std::make_unique<Impl>();
  impl->agent_path = agent_path;
  impl->hosts = hosts;
  impl->links = links;
  // With links, issues keep their pointers (/hosts/proxy/sysctl/..., /links/1/0): both are the
  // lab's input; without, they are relative to the hosts (the sysctl= argument).
  impl->scenario = load_part(lab_document(hosts, links, family), links.is_null() ? "/hosts" : "",
                             links.is_null() ? "<Lab sysctl>" : "<Lab>");
  auto topo = Topology::build(impl->scenario);
  if (!topo.ok()) {
    if (is_privilege_error(topo.error()))
      throw EnvironmentError("cannot build the lab's network: " + topo.error().str(), kPrivilegeAdvice);
    throw std::runtime_error("cannot build the lab's network: " + topo.error().str());
  }
  impl->topo.emplace(std::move(topo.value()));
  Impl* raw = impl.get();
  impl->injector.emplace(*impl->topo, [raw](const std::string& host) { return raw->processes_on(host); });
  impl->start_drain();
  return std::unique_ptr<Lab>(new Lab(std::move(impl)));
}

void Lab::start_server(const json& server) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->check_open();
  if (!server.is_object()) throw_issue("<lab.server>", "", "expected a server object");
  json part = server;
  if (!part.contains("on")) part["on"] = impl_->scenario.server.on;
  json doc = lab_document(impl_->hosts, impl_->links, name_string(impl_->scenario.family));
  doc["server"] = part;
  if (part.contains("port") && part["port"].is_number_integer() && part["on"].is_string())
    doc["client"]["connect"] = part["on"].get<std::string>() + ":" + std::to_string(part["port"].get<int>());
  Scenario s = load_part(doc, "/server", "<lab.server>");
  const ServerSpec& spec = s.server;
  if (::access(impl_->agent_path.c_str(), X_OK) != 0)
    throw EnvironmentError("sockchaos-agent not found at " + impl_->agent_path,
                           "build it (cmake --build build) or set SOCKCHAOS_AGENT to its path");
  impl_->start(spec);
}

int Lab::install_fault(const json& fault, int64_t* installed_ns) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->check_open();
  const std::string label = "<lab.fault>";
  if (!fault.is_object()) throw_issue(label, "", "expected a fault object");
  for (const char* key : {"at", "until"})
    if (fault.contains(key))
      throw_issue(label, std::string("/") + key,
                  std::string("\"") + key + "\" does not apply to a lab fault: it is installed when lab.fault() is "
                  "called and removed by its heal()");
  json part = fault;
  part["at"] = "0s";  // installed now; it lasts until heal(), like a scenario fault without until
  json doc = lab_document(impl_->hosts, impl_->links, name_string(impl_->scenario.family));
  doc["faults"] = json::array({part});
  Scenario s = load_part(doc, "/faults/0", label);
  ActiveFault f;
  f.fault = s.faults.at(0);
  f.index = static_cast<int>(impl_->faults.size());
  const Fault& ft = f.fault;
  if ((ft.kind == FaultKind::kill || ft.kind == FaultKind::pause) && impl_->processes_on(ft.on).empty())
    throw std::runtime_error(name_string(ft.kind) + " acts on the lab's server agents, and none runs on host \"" + ft.on +
                             "\": start one with lab.server(port)");

  auto done = impl_->injector->install(ft, f.index);
  if (!done.ok()) throw std::runtime_error("install " + ft.label() + ": " + done.error().str());
  const int64_t stamp = done->at_ns;
  f.install_began = done->begin_ns;
  f.applied = std::move(done.value());
  f.installed = stamp;
  *installed_ns = stamp;
  impl_->faults.push_back(std::move(f));
  return static_cast<int>(impl_->faults.size()) - 1;
}

int64_t Lab::heal_fault(int id) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (impl_->closed) return -1;  // everything went with the lab
  ActiveFault& f = impl_->faults.at(static_cast<size_t>(id));
  if (f.healed >= 0) return -1;
  const Fault& ft = f.fault;
  auto healed = impl_->injector->heal(ft, f.applied);
  if (!healed.ok()) throw std::runtime_error("heal " + ft.label() + ": " + healed.error().str());
  f.healed = *healed;
  return f.healed;
}

std::string Lab::fault_label(int id) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->faults.at(static_cast<size_t>(id)).fault.label();
}

std::string Lab::address(const std::string& host, bool ipv6) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->check_open();
  const bool v6 = ipv6 || impl_->topo->family() == IpFamily::ipv6;
  return v6 ? impl_->host(host).address6() : impl_->host(host).address();
}

std::string Lab::address_from(const std::string& host, const std::string& from, bool ipv6) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->check_open();
  impl_->host(host);
  impl_->host(from);
  return impl_->topo->address_for(host, from, ipv6 || impl_->topo->family() == IpFamily::ipv6);
}

int Lab::netns_fd(const std::string& host) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->check_open();
  return impl_->host(host).ns.fd();
}

StateCounts Lab::sockets(const std::string& host) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->check_open();
  auto counts = impl_->census_of(host).count();
  if (!counts.ok()) throw std::runtime_error("socket census in host " + host + ": " + counts.error().str());
  return counts.value();
}

std::vector<std::string> Lab::host_names() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::vector<std::string> names;
  if (impl_->topo)
    for (const auto& h : impl_->topo->plan().hosts) names.push_back(h.name);
  return names;
}

std::vector<int> Lab::server_pids() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::vector<int> pids;
  for (const auto& s : impl_->servers) pids.push_back(s.pid());
  return pids;
}

void Lab::close() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->shutdown();
}

bool Lab::closed() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->closed;
}

}  // namespace sockchaos::harness
