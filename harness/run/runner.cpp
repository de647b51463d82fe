#include "harness/run/runner.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>

#include "harness/metrics/metrics.hpp"
#include "harness/protocol/events.hpp"
#include "harness/world/environment.hpp"
#include "harness/world/fault_injector.hpp"
#include "harness/world/launcher.hpp"
#include "harness/world/scratch.hpp"
#include "harness/world/topology.hpp"
#include "harness/metrics/kernel_model.hpp"
#include "netns/capture.hpp"
#include "netns/census.hpp"

namespace sockchaos::harness {
namespace {

constexpr int64_t kSettleLimit = 2000 * kMillisecond;
constexpr int64_t kSettleHold = 200 * kMillisecond;
constexpr int64_t kSettleQuiet = 2 * kMillisecond;         // two agreeing samples at least this far apart
constexpr int64_t kSettleFirstLook = 250 * 1000;           // 0.25 ms: the first look for a cell at rest
constexpr int64_t kMaxSampleBackoff = 1000 * kMillisecond;
constexpr int64_t kStartSlack = 30000 * kMillisecond;  // never hang: the loop ends this long after the deadline
constexpr size_t kMaxAcceptEvents = 20;                // accept lines shown in the timeline

// A process of the cell: an agent or the user's own program.
struct Participant {
  std::optional<ChildProcess> proc;
  bool command = false;
  bool expected_gone = false;  // a kill/crash fault, or the end of the workload, took it
  bool exited = false;
  std::string out, err;  // a command's captured output
  bool alive() const { return proc && !exited; }
};

// fds to wait on, each with what to do when it is ready.
class PollSet {
 public:
  void add(int fd, short events, std::function<void(short)> on_ready) {
    fds_.push_back({fd, events, 0});
    handlers_.push_back(std::move(on_ready));
  }
  // Waits until `wake` (CLOCK_MONOTONIC) or an fd is ready; runs the handlers of ready fds.
  // Returns false on a ppoll error other than EINTR.
  bool wait_until(int64_t wake) {
    const timespec ts = to_timespec(wake - monotonic_ns());
    const int rc = ::ppoll(fds_.data(), static_cast<nfds_t>(fds_.size()), &ts, nullptr);
    if (rc < 0) return errno == EINTR;
    for (size_t i = 0; i < fds_.size() && rc > 0; ++i)
      if (fds_[i].revents) handlers_[i](fds_[i].revents);
    return true;
  }

 private:
  std::vector<pollfd> fds_;
  std::vector<std::function<void(short)>> handlers_;
};

class CellRun {
 public:
  CellRun(const Cell& cell, const RunOptions& options, int run_number)
      : cell_(cell), s_(cell.scenario), opt_(options), run_number_(run_number) {}
  ~CellRun() {
    for (Participant* p : {&client_, &server_, &upstream_})
      if (p->proc) p->proc->kill_and_reap();
  }

  RunRecord run();

 private:
  bool failed() const { return r_.failure.has_value(); }
  void fail(std::string detail) {
    if (!r_.failure) r_.failure = std::move(detail);
  }
  bool build();
  Status launch_upstream();
  Status launch_server();
  Status launch_client();
  Status install(ActiveFault& f);
  Status heal(ActiveFault& f);
  void apply_schedule(int64_t now);
  void sample(int64_t now);
  void settle(bool client_left, bool end_sample_after_exit);
  int64_t next_sample_time(int64_t now);
  void end_workload();
  void loop();
  void finish();
  void on_client_line(const std::string& line);
  void on_server_line(const std::string& line, const std::string& host);
  void on_server_event(const AgentEvent& ev, const std::string& host);
  void read_client();
  void read_server(Participant& p, const std::string& host);
  void on_client_exit();
  void event(int64_t t, std::string name, std::string detail = "") {
    r_.events.push_back({t, std::move(name), std::move(detail)});
  }
  std::vector<ChildProcess*> processes_on(const std::string& host);
  void set_base(int64_t t) {
    if (r_.base < 0) r_.base = t;
  }
  int64_t workload_deadline() const;

  void start_capture();
  void stop_capture();

  const Cell& cell_;
  const Scenario& s_;
  const RunOptions& opt_;
  const int run_number_;
  RunRecord r_;
  std::optional<netns::CaptureSet> capture_;
  std::optional<Topology> topo_;
  std::map<std::string, netns::Census> census_;
  std::optional<FaultInjector> injector_;
  std::vector<ActiveFault> faults_;
  Participant server_, upstream_, client_;
  LaunchEnv env_;
  ScratchDir scratch_;  // {tmp} of the cell's commands (their configs, the hosts files)
  bool client_done_ = false;
  size_t accept_events_ = 0;
  int64_t sample_interval_ = 0, next_sample_ = 0, observe_end_ = -1;
  size_t activity_seen_ = 0;  // events + probes + requests at the last look
  std::vector<uint16_t> workload_ports_;  // sockets whose tcp_info each census records
  size_t tcp_info_max_sockets_ = 16;       // per host and census pass
};

std::vector<ChildProcess*> CellRun::processes_on(const std::string& host) {
  std::vector<ChildProcess*> v;
  if (server_.proc && s_.server.on == host) v.push_back(&*server_.proc);
  if (upstream_.proc && s_.upstream_server && s_.upstream_server->on == host) v.push_back(&*upstream_.proc);
  if (client_.proc && s_.client.on == host) v.push_back(&*client_.proc);
  return v;
}

bool CellRun::build() {
  auto topo = Topology::build(s_, opt_.phases);
  if (!topo.ok()) {
    if (is_privilege_error(topo.error()))
      throw EnvironmentError("cannot build the scenario's network: " + topo.error().str(), kPrivilegeAdvice);
    if (topo.error().err == kMissingFeatureErrno)
      throw EnvironmentError("cannot build the scenario's network: " + topo.error().message,
                             "run `sockchaos doctor` to see what this kernel has");
    fail(topo.error().str());
    return false;
  }
  topo_.emplace(std::move(topo.value()));
  for (const auto& h : topo_->hosts()) r_.hosts.push_back(h.name);
  injector_.emplace(*topo_, [this](const std::string& host) { return processes_on(host); });
  const bool commands = s_.server.behavior == ServerBehavior::command ||
                        (s_.upstream_server && s_.upstream_server->behavior == ServerBehavior::command) ||
                        s_.client.workload.kind == WorkloadKind::command;
  if (commands) {
    auto scratch = make_scratch_dir("run");
    if (!scratch.ok()) {
      fail("scratch folder for the commands: " + scratch.error().str());
      return false;
    }
    scratch_ = std::move(scratch.value());
  }
  env_.agent_path = opt_.agent_path;
  env_.topology = &*topo_;
  env_.phases = opt_.phases;
  env_.placeholders.server =
      topo_->has_host(s_.client.connect_host)
          ? topo_->address_for(s_.client.connect_host, s_.client.on, s_.client.connect_ipv6)
          : "";
  env_.placeholders.port = std::to_string(s_.client.connect_port);
  std::error_code ec;
  env_.placeholders.dir = s_.dir.empty() ? std::filesystem::current_path(ec).string() : s_.dir;
  env_.placeholders.tmp = scratch_.path();
  for (auto& h : topo_->hosts()) {
    auto c = netns::Census::open(h.ns);
    if (!c.ok()) {
      fail("socket census (inet_diag) in host " + h.name + ": " + c.error().str());
      return false;
    }
    census_.emplace(h.name, std::move(c.value()));
  }
  mark(opt_.phases, "census sockets");
  // tcp_info of the workload's sockets with each census: every one of a workload's few
  // long-lived connections; of a probe loop's thousands, the few alive at each pass (TIME_WAIT
  // sockets carry no tcp_info, so a pass costs what it did).
  const Workload& w = s_.client.workload;
  tcp_info_max_sockets_ = w.kind == WorkloadKind::probe && w.count > 10 ? 4 : 16;
  workload_ports_ = {static_cast<uint16_t>(s_.client.connect_port), static_cast<uint16_t>(s_.server.port)};
  if (s_.upstream_server) workload_ports_.push_back(static_cast<uint16_t>(s_.upstream_server->port));
  for (size_t i = 0; i < s_.faults.size(); ++i) {
    ActiveFault f;
    f.fault = s_.faults[i];
    f.index = static_cast<int>(i);
    faults_.push_back(std::move(f));
  }
  if (auto st = injector_->prepare(s_.faults); !st.ok()) {
    fail("prepare the faults: " + st.error().str());
    return false;
  }
  r_.kernel_sysctl = netns::fresh_namespace_sysctls(KernelEnvironment::keys());
  r_.kernel_hz = netns::kernel_hz().value_or(250);
  mark(opt_.phases, "cell plan");
  start_capture();
  mark(opt_.phases, "capture start");
  return true;
}

// Every host's interfaces, from before the first packet of the run to after the last sample.
// A capture that cannot start is said in the results; the run goes on without it.
void CellRun::start_capture() {
  r_.capture_enabled = s_.capture.enabled;
  if (!s_.capture.enabled) return;
  std::vector<netns::CaptureSet::Target> targets;
  for (const auto& h : topo_->hosts()) {
    netns::CaptureSet::Target t{h.name, &h.ns, {}};
    for (const auto& itf : h.interfaces) t.ifnames.push_back(itf.name);
    targets.push_back(std::move(t));
  }
  netns::CaptureOptions options;
  options.snaplen = s_.capture.snaplen;
  options.max_bytes = static_cast<size_t>(s_.capture.max_bytes);
  auto set = netns::CaptureSet::start(targets, options);
  if (!set.ok()) {
    r_.capture_error = set.error().str();
    return;
  }
  capture_.emplace(std::move(set.value()));
}

// A file name part from a cell id: letters, digits and ._=- kept, the rest '_', bounded.
std::string file_part(const std::string& text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '=' || c == '-') ? c : '_';
  if (out.empty()) out = "default";
  if (out.size() > 120) out = out.substr(0, 100) + "_" + std::to_string(std::hash<std::string>{}(text) % 1000000007);
  return out;
}

void CellRun::stop_capture() {
  if (!capture_) return;
  if (auto st = capture_->stop(); !st.ok()) r_.capture_error = st.error().str();
  namespace fs = std::filesystem;
  for (size_t i = 0; i < capture_->size(); ++i) {
    const netns::HostCapture& hc = capture_->host(i);
    HostPackets hp;
    hp.host = hc.host();
    for (const auto& itf : topo_->host(hc.host()).interfaces)
      for (const std::string* text : {&itf.address, &itf.address6})
        if (auto a = IpAddress::parse(*text)) hp.own.push_back(*a);
    const netns::CaptureStats& st = hc.stats();
    hp.seen = st.seen;
    hp.kept = st.kept;
    hp.dropped_by_cap = st.dropped_by_cap;
    hp.dropped_by_kernel = st.dropped_by_kernel;
    hp.truncated = st.truncated;
    hp.error = st.error;
    uint32_t frame = 0;
    for (const auto& p : hc.packets()) {
      ++frame;
      auto parsed = parse_tcp_packet(p.bytes.data(), p.bytes.size(), p.wire_len, p.linktype);
      if (!parsed.ok()) continue;  // not TCP/IP (the filter keeps TCP; an odd frame is skipped)
      TcpPacket packet = std::move(parsed.value());
      packet.frame = frame;
      packet.mono_ns = p.mono_ns;
      packet.real_ns = p.real_ns;
      packet.ifname = p.ifname;
      hp.packets.push_back(std::move(packet));
    }
    if (!opt_.results_dir.empty()) {
      const fs::path relative = fs::path("captures") / file_part(s_.name) / file_part(cell_.id) /
                                ("run" + std::to_string(run_number_) + "-" + file_part(hp.host) + ".pcap");
      std::error_code ec;
      fs::create_directories((fs::path(opt_.results_dir) / relative).parent_path(), ec);
      if (auto w = hc.write_pcap((fs::path(opt_.results_dir) / relative).string()); w.ok()) hp.file = relative.string();
      else hp.error = w.error().str();
    }
    r_.captures.push_back(std::move(hp));
  }
  capture_.reset();
}

Status CellRun::launch_upstream() {
  const ServerSpec& up = *s_.upstream_server;
  LaunchEnv env = env_;
  env.placeholders.port = std::to_string(up.port);
  auto started = start_server(topo_->host(up.on), up, "", env, census_.at(up.on), "upstream server");
  if (!started.ok()) return started.error();
  upstream_ = Participant{};
  upstream_.command = started->command;
  upstream_.out = std::move(started->out);
  upstream_.err = std::move(started->err);
  upstream_.proc.emplace(std::move(started->process));
  event(started->listening_at, "upstream-listening", up.on + ":" + std::to_string(up.port));
  for (const auto& ev : started->early_events)
    if (ev.kind != AgentEventKind::listening) on_server_event(ev, up.on);
  return {};
}

Status CellRun::launch_server() {
  std::string upstream_address;
  if (s_.server.behavior == ServerBehavior::proxy) {
    const std::string up_host = s_.server.upstream_host();
    if (!topo_->has_host(up_host)) return Error::plain("proxy upstream names unknown host " + up_host);
    upstream_address = topo_->address_for(up_host, s_.server.on, s_.server.upstream_ipv6(s_.family));
  }
  LaunchEnv env = env_;
  env.placeholders.port = std::to_string(s_.server.port);
  auto started = start_server(topo_->host(s_.server.on), s_.server, upstream_address, env, census_.at(s_.server.on),
                              "server");
  if (!started.ok()) return started.error();
  server_ = Participant{};
  server_.command = started->command;
  server_.out = std::move(started->out);
  server_.err = std::move(started->err);
  server_.proc.emplace(std::move(started->process));
  event(started->listening_at, "server-listening", server_.command ? "command" : "");
  for (const auto& ev : started->early_events)
    if (ev.kind != AgentEventKind::listening) on_server_event(ev, s_.server.on);
  if (server_.command) r_.server_command = CommandOutput{shown_command(s_.server.on, s_.server.command, env), -1, {}, {}};
  return {};
}

Status CellRun::launch_client() {
  if (!topo_->has_host(s_.client.connect_host))
    return Error::plain("client connects to unknown host " + s_.client.connect_host);
  const std::string address = topo_->address_for(s_.client.connect_host, s_.client.on, s_.client.connect_ipv6);
  // The cell's duration counts from the moment the client is started. Read before the spawn: the
  // agent may already be connected by the time this thread runs again (with 256 cells on 2 cores,
  // 150 ms later was seen, and the duration came out shorter than the agent's own SO_RCVTIMEO).
  r_.t_start = monotonic_ns();
  auto child = start_client(topo_->host(s_.client.on), s_.client, address, env_);
  if (!child.ok()) return child.error();
  mark(opt_.phases, "client agent spawn (zygote fork or exec)");
  client_ = Participant{};
  client_.command = s_.client.workload.kind == WorkloadKind::command;
  client_.proc.emplace(std::move(child.value()));
  if (client_.command) {
    // The command has been exec'd (vfork returns after the exec): from here on it runs.
    const int64_t exec_done = monotonic_ns();
    // The user's client says nothing: its start is the workload's start.
    r_.client_command = CommandOutput{shown_command(s_.client.on, s_.client.workload.command, env_), -1, {}, {}};
    event(exec_done, "client-start", "command");
    if (!s_.client.workload.ready_when_connected) {
      set_base(exec_done);
      return {};
    }
    // "ready": "connected": the workload is ready once the client's host holds an
    // ESTABLISHED connection (its census, sampled every 5 ms; the process's pidfd wakes the
    // wait early when it exits). Bounded like a command server's listen.
    netns::Census& census = census_.at(s_.client.on);
    const int64_t until = exec_done + kCommandListenTimeout;
    for (;;) {
      client_.proc->capture(client_.out, client_.err);
      auto counts = census.count();
      const int64_t now = monotonic_ns();
      if (counts.ok() && counts->get("ESTABLISHED") > 0) {
        event(now, "client-connected", "command");
        set_base(now);
        return {};
      }
      if (!client_.proc->running()) {
        set_base(now);  // its exit is the outcome; the main loop reads it
        return {};
      }
      if (now >= until)
        return Error::plain("client command " + s_.client.workload.command.front() + " on " + s_.client.on +
                            " did not connect within " + std::to_string(kCommandListenTimeout / kSecond) + " s" +
                            (client_.err.empty() ? "" : "; its last stderr lines:\n" + tail_lines(client_.err)));
      pollfd pfd{client_.proc->pidfd(), POLLIN, 0};
      ::poll(&pfd, 1, 5);
    }
  }
  return {};
}

Status CellRun::install(ActiveFault& f) {
  if (f.fault.kind == FaultKind::kill || f.fault.kind == FaultKind::crash)
    for (Participant* p : {&server_, &upstream_, &client_})
      if (p->proc) {
        const auto on_host = processes_on(f.fault.on);
        if (std::find(on_host.begin(), on_host.end(), &*p->proc) != on_host.end()) p->expected_gone = true;
      }
  auto done = injector_->install(f.fault, f.index);
  if (!done.ok()) return done.error();
  f.installed = done->at_ns;
  f.install_began = done->begin_ns;
  f.applied = std::move(done.value());
  if (r_.first_fault < 0) {
    r_.first_fault = f.installed;
    r_.first_fault_began = f.install_began;
  }
  event(f.installed, "fault", f.fault.label());
  return {};
}

Status CellRun::heal(ActiveFault& f) {
  auto healed = injector_->heal(f.fault, f.applied);
  if (!healed.ok()) return healed.error();
  if (f.fault.kind == FaultKind::crash) {
    // The host is back, empty: its services start again with none of the old connections,
    // so an old connection's next segment meets a RST and new connections succeed.
    if (upstream_.proc && s_.upstream_server->on == f.fault.on) {
      upstream_.proc.reset();
      if (auto st = launch_upstream(); !st.ok()) return Error::plain("restart upstream after crash: " + st.error().message);
    }
    if (server_.proc && s_.server.on == f.fault.on) {
      server_.proc.reset();
      if (auto st = launch_server(); !st.ok()) return Error::plain("restart server after crash: " + st.error().message);
    }
  }
  f.healed = *healed;
  event(f.healed, "heal", f.fault.label());
  return {};
}

// Faults at "0s" go in before the workload starts; the rest when their time after the
// workload's base comes; a fault without `until` lasts until the cell ends.
void CellRun::apply_schedule(int64_t now) {
  if (r_.base < 0) return;
  for (auto& f : faults_) {
    if (failed()) return;
    if (f.pending() && f.fault.at.count() > 0 && now >= r_.base + f.fault.at.count())
      if (auto st = install(f); !st.ok()) fail("install " + f.fault.label() + ": " + st.error().str());
    if (f.active() && f.fault.until && now >= r_.base + f.fault.until->count())
      if (auto st = heal(f); !st.ok()) fail("heal " + f.fault.label() + ": " + st.error().str());
  }
}

void CellRun::sample(int64_t now) {
  CensusSample smp;
  smp.t = now;
  for (const auto& host : r_.hosts) {
    std::vector<SocketSample> sockets;
    auto c = workload_ports_.empty() ? census_.at(host).count() : census_.at(host).count(workload_ports_, sockets, tcp_info_max_sockets_);
    if (!c.ok()) {
      r_.census_failures.push_back({now, host, c.error().str()});
      continue;
    }
    smp.hosts.emplace_back(host, std::move(c.value()));
    for (auto& sock : sockets) smp.sockets.emplace_back(host, std::move(sock));
  }
  r_.samples.push_back(std::move(smp));
}

bool same_counts(const CensusSample& a, const CensusSample& b) {
  if (a.hosts.size() != b.hosts.size()) return false;
  for (size_t i = 0; i < a.hosts.size(); ++i)
    if (a.hosts[i].first != b.hosts[i].first || !a.hosts[i].second.same_states(b.hosts[i].second)) return false;
  return true;
}

// Sample at sample_every while anything changes; when the counts sit still, back off (doubling,
// up to 1 s) — a cell waiting on a kernel timer then costs a dump a second, not ten — but never
// past the next TIME_WAIT / FIN_WAIT2 expiry the census announced, so state lifetimes keep the
// sample_every resolution. Any event (fault, heal, agent output) restores the full rate.
int64_t CellRun::next_sample_time(int64_t now) {
  const int64_t every = std::max<int64_t>(s_.sample_every.count(), 10 * kMillisecond);
  const size_t n = r_.samples.size();
  const bool still = n >= 2 && same_counts(r_.samples[n - 1], r_.samples[n - 2]);
  sample_interval_ = still ? std::min(std::max(sample_interval_ * 2, every), std::max(every, kMaxSampleBackoff)) : every;
  int64_t next = now + sample_interval_;
  if (n >= 1)
    for (const auto& [host, counts] : r_.samples[n - 1].hosts)
      if (counts.next_expiry_ms >= 0) next = std::min(next, now + std::max(every, counts.next_expiry_ms * kMillisecond));
  return next;
}

// A census in which nothing can change any more by itself: every host answered, and the only
// TCP sockets left are listeners and TIME_WAIT. No connection is open or half-way through a
// handshake or a close on either side, so no segment of one can still be in flight (a FIN, an
// ACK or a RST on its way leaves its receiver in a state other than these two until it lands);
// what is left changes only on a timer (TIME_WAIT's expiry), which the census announces.
bool at_rest(const CensusSample& s, size_t hosts) {
  if (s.hosts.size() != hosts) return false;
  for (const auto& [host, c] : s.hosts)
    if (!c.only_listening_or_time_wait()) return false;
  return true;
}

// After the workload ends, the last closes are still in flight (a FIN on its way, the peer's
// close pending, a busy machine delaying the server's close): sample until two samples at least
// 2 ms apart agree (every sample between them agreeing too) and no socket is half-way through a
// handshake or a close, or, when some are (a peer that never closes, a blackholed FIN), until the
// counts have held still for 200 ms; at most 2 s. The census then reports where the sockets came
// to rest. When our client agent has finished its workload and is gone (end_workload says when)
// and a sample finds the cell at rest (at_rest), that sample is final at once: the end sample
// itself when the agent had exited before it, or one of the looks taken right away (after the agent
// is reaped), then 0.25, 0.75 and 1.75 ms on while the 2 ms window runs.
void CellRun::settle(bool client_left, bool end_sample_after_exit) {
  const size_t hosts = r_.hosts.size();
  if (end_sample_after_exit && at_rest(r_.samples.back(), hosts)) return;
  const int64_t until = monotonic_ns() + kSettleLimit;
  int64_t changed = monotonic_ns();  // the 2 ms window runs from here, and again from each change
  int64_t still_since = -1;
  int64_t look = kSettleFirstLook;
  int64_t step = kSettleQuiet;  // once the window has passed: 2, 4, 8, 10, 10... ms while still
  int64_t next = client_left ? changed : changed + kSettleQuiet;  // the first look: right away
  for (;;) {
    if (monotonic_ns() >= until) return;
    pollfd p{opt_.cancel_fd, POLLIN, 0};
    const timespec ts = to_timespec(std::max<int64_t>(0, next - monotonic_ns()));
    if (::ppoll(&p, opt_.cancel_fd >= 0 ? 1 : 0, &ts, nullptr) > 0) return;
    const int64_t now = monotonic_ns();
    sample(now);
    const auto& last = r_.samples.back();
    if (client_left && at_rest(last, hosts)) return;
    if (!same_counts(last, r_.samples[r_.samples.size() - 2])) {
      // Something moved (typically the server's close after the end sample): the sample 2 ms
      // on is the one that must agree, as it would have been had the end sample come later.
      changed = now;
      step = kSettleQuiet;
      still_since = -1;
      next = client_left ? now + kSettleFirstLook : now + kSettleQuiet;
      look = 2 * kSettleFirstLook;
      continue;
    }
    if (now - changed < kSettleQuiet) {  // looks at 0.25, 0.75, 1.75 ms, then the 2 ms sample
      next = std::min(now + look, changed + kSettleQuiet);
      look *= 2;
      continue;
    }
    step = std::min<int64_t>(step * 2, 10 * kMillisecond);
    next = now + step;
    bool transient = false;
    for (const auto& [host, c] : last.hosts)
      for (int st = 1; st < kTcpStateCount; ++st)
        if (is_transient_tcp_state(st) && c.by_state[st] > 0) transient = true;
    if (!transient) return;
    if (still_since < 0) still_since = r_.samples[r_.samples.size() - 2].t;
    if (now - still_since >= kSettleHold) return;
  }
}

void CellRun::on_server_event(const AgentEvent& ev, const std::string& host) {
  switch (ev.kind) {
    case AgentEventKind::listening:
      event(ev.t, "server-listening", "");
      break;
    case AgentEventKind::fatal:
      fail("server: " + ev.message);
      break;
    case AgentEventKind::accept:
      r_.accepts.emplace_back(ev.t, ev.count);
      if (accept_events_++ < kMaxAcceptEvents)
        event(ev.t, "server-accept", host + ": " + std::to_string(ev.count) + " connection" + (ev.count == 1 ? "" : "s"));
      break;
    case AgentEventKind::conn_error:
      r_.server_errors.push_back(ev);
      event(ev.t, "server-error", host + " " + ev.syscall + ": " + ev.error);
      break;
    default:
      break;
  }
}

void CellRun::on_server_line(const std::string& line, const std::string& host) {
  auto ev = parse_agent_event(line);
  if (!ev.ok()) return fail("server agent on " + host + ": " + ev.error().message);
  on_server_event(*ev, host);
}

void CellRun::on_client_line(const std::string& line) {
  auto parsed = parse_agent_event(line);
  if (!parsed.ok()) return fail("client agent: " + parsed.error().message);
  AgentEvent& ev = parsed.value();
  switch (ev.kind) {
    case AgentEventKind::start: {
      mark_at(opt_.phases, "client agent start", ev.t);
      event(ev.t, "client-start");
      // Probes and commands have no "ready": their start is the workload's base, and so is it
      // when a fault must be in before the first connect.
      bool from_start = s_.client.workload.kind == WorkloadKind::probe;
      for (const auto& f : s_.faults)
        if (f.at.count() == 0) from_start = true;
      if (from_start) set_base(ev.t);
      break;
    }
    case AgentEventKind::ready:
      event(ev.t, "ready");
      set_base(ev.t);
      break;
    case AgentEventKind::error:
      if (!r_.client_error.present()) {
        r_.client_error = {ev.t, ev.syscall, ev.error, ev.tcp_info};
        event(ev.t, "client-error", ev.syscall + ": " + ev.error);
        if (r_.workload_end < 0) r_.workload_end = ev.t;
      }
      break;
    case AgentEventKind::probes:
      r_.probes.insert(r_.probes.end(), ev.items.begin(), ev.items.end());
      break;
    case AgentEventKind::requests:
      r_.requests.insert(r_.requests.end(), ev.items.begin(), ev.items.end());
      break;
    case AgentEventKind::done:
      mark_at(opt_.phases, "workload", ev.t);
      client_done_ = true;
      event(ev.t, "workload-done");
      if (r_.workload_end < 0) r_.workload_end = ev.t;
      break;
    case AgentEventKind::fatal:
      fail("client: " + ev.message);
      break;
    default:
      break;
  }
}

void CellRun::read_client() {
  if (client_.command) {
    client_.proc->capture(client_.out, client_.err);
    return;
  }
  std::vector<std::string> lines;
  client_.proc->read_lines(lines);
  for (const auto& l : lines) on_client_line(l);
}

void CellRun::read_server(Participant& p, const std::string& host) {
  if (p.command) {
    p.proc->capture(p.out, p.err);
    return;
  }
  std::vector<std::string> lines;
  p.proc->read_lines(lines);
  for (const auto& l : lines) on_server_line(l, host);
}

void CellRun::on_client_exit() {
  read_client();
  const int64_t t = monotonic_ns();
  client_.proc->try_reap();
  client_.exited = true;
  if (client_.command) {
    // The user's client exited: its exit time and status are the outcome.
    const int code = client_.proc->exit_code();
    event(t, "client-exit", "status " + std::to_string(code));
    if (code != 0 && !r_.client_error.present()) r_.client_error = {t, "exit", "exit:" + std::to_string(code), std::nullopt};
    if (code == 0) client_done_ = true;
  } else if (!client_.expected_gone && !r_.client_error.present() && !client_done_ && !failed()) {
    const std::string err = client_.proc->drain_stderr();
    fail("client agent exited unexpectedly (status " + std::to_string(client_.proc->exit_code()) + ")" +
         (err.empty() ? "" : ": " + err));
  }
  if (r_.workload_end < 0) r_.workload_end = t;
}

// When a cell with no error gives up: the deadline after the first fault, or, with faults still
// to come, after the last of them is due.
int64_t CellRun::workload_deadline() const {
  if (r_.first_fault >= 0) return r_.first_fault + s_.deadline.count();
  if (r_.base < 0) return -1;
  int64_t last_at = 0;
  for (const auto& f : s_.faults) last_at = std::max<int64_t>(last_at, f.at.count());
  return r_.base + last_at + s_.deadline.count();
}

void CellRun::end_workload() {
  if (opt_.on_workload_end) opt_.on_workload_end();
  // Our client agent finished its workload by itself ("done"): every socket it opened is closed or
  // finished, and no connect of it is under way (a closed SYN_SENT socket's SYN could still be on
  // its way to the server, unseen by any census). Not a request workload, which closes its
  // connections as they are when its count is reached, some of them maybe still connecting; not a
  // client that failed or was killed by a fault; not the user's program (its children may live on).
  const bool client_left =
      !client_.command && client_done_ && !client_.expected_gone && s_.client.workload.kind != WorkloadKind::request;
  const bool exited_before_end_sample = !client_.alive();
  sample(monotonic_ns());
  if (client_.alive()) {
    client_.expected_gone = true;
    read_client();  // the agent's last batch, the command's last output
    client_.proc->kill_and_reap();
    client_.exited = true;
  }
  mark(opt_.phases, "end sample + client reap");
  settle(client_left, client_left && exited_before_end_sample);
  mark(opt_.phases, "settle");
  observe_end_ = std::max(r_.workload_end + s_.observe.count(), monotonic_ns());
  if (s_.observe.count() > 0) event(r_.workload_end, "observe", "sampling for " + format_duration(s_.observe));
}

void CellRun::loop() {
  next_sample_ = r_.t_start;
  const int64_t hard_stop = r_.t_start + s_.deadline.count() + kStartSlack;
  for (;;) {
    int64_t now = monotonic_ns();
    apply_schedule(now);
    if (failed()) return;
    now = monotonic_ns();
    if (now >= next_sample_) {
      sample(now);
      next_sample_ = next_sample_time(now);
    }
    const size_t activity = r_.events.size() + r_.probes.size() + r_.requests.size();
    if (activity != activity_seen_) {
      activity_seen_ = activity;
      const int64_t every = std::max<int64_t>(s_.sample_every.count(), 10 * kMillisecond);
      sample_interval_ = every;
      next_sample_ = std::min(next_sample_, now + every);
    }

    // The end of the workload: error, done, exit, deadline.
    if (r_.workload_end < 0) {
      const int64_t deadline = workload_deadline();
      if ((deadline >= 0 && now >= deadline) || now >= hard_stop) {
        r_.deadline_hit = true;
        r_.workload_end = now;
        event(now, "deadline", "no client error within " + format_duration(s_.deadline));
      }
    }
    if (r_.workload_end >= 0 && observe_end_ < 0) end_workload();
    if (observe_end_ >= 0 && monotonic_ns() >= observe_end_) return;

    // Sleep until the next thing that can happen.
    int64_t wake = next_sample_;
    if (r_.base >= 0)
      for (const auto& f : faults_) {
        if (f.pending() && f.fault.at.count() > 0) wake = std::min(wake, r_.base + f.fault.at.count());
        if (f.active() && f.fault.until) wake = std::min(wake, r_.base + f.fault.until->count());
      }
    if (observe_end_ >= 0) wake = std::min(wake, observe_end_);
    if (r_.workload_end < 0) {
      const int64_t deadline = workload_deadline();
      if (deadline >= 0) wake = std::min(wake, deadline);
    }
    PollSet poll;
    bool cancelled = false;
    if (client_.alive()) {
      poll.add(client_.proc->stdout_fd(), POLLIN, [this](short) { read_client(); });
      if (client_.command) poll.add(client_.proc->stderr_fd(), POLLIN, [this](short) { read_client(); });
      poll.add(client_.proc->pidfd(), POLLIN, [this](short) {
        if (client_.alive()) on_client_exit();
      });
    }
    for (const auto& entry : {std::pair<Participant*, std::string>{&server_, s_.server.on},
                              {&upstream_, s_.upstream_server ? s_.upstream_server->on : std::string()}}) {
      Participant* p = entry.first;  // named copies: a lambda may not capture a structured binding (clang 14)
      const std::string host = entry.second;
      if (!p->alive()) continue;
      poll.add(p->proc->stdout_fd(), POLLIN, [this, p, host](short) { read_server(*p, host); });
      if (p->command) poll.add(p->proc->stderr_fd(), POLLIN, [this, p, host](short) { read_server(*p, host); });
      poll.add(p->proc->pidfd(), POLLIN, [this, p, host](short) {
        if (!p->alive()) return;
        read_server(*p, host);
        p->proc->try_reap();
        p->exited = true;
        if (!p->expected_gone)
          event(monotonic_ns(), p == &server_ ? "server-exit" : "upstream-exit",
                "status " + std::to_string(p->proc->exit_code()));
      });
    }
    if (opt_.cancel_fd >= 0) poll.add(opt_.cancel_fd, POLLIN, [&cancelled](short) { cancelled = true; });
    if (!poll.wait_until(wake)) return fail(std::string("ppoll: ") + std::strerror(errno));
    if (cancelled) return fail(kInterruptedDetail);
  }
}

void CellRun::finish() {
  // The kernel's own account of the run (aborts, time-wait overflows, retransmissions...),
  // read before the agents go so their teardown does not count.
  if (topo_)
    for (auto& h : topo_->hosts()) {
      auto c = netns::tcp_counters(h.ns);
      if (c.ok()) r_.counters[h.name] = std::move(c.value());
    }
  mark(opt_.phases, "TCP counters");
  for (Participant* p : {&client_, &server_, &upstream_})
    if (p->proc) {
      if (p->alive()) {
        if (p == &client_) read_client();
        else if (p->command) p->proc->capture(p->out, p->err);
      }
      p->proc->kill_and_reap();
    }
  if (r_.client_command && client_.proc) {
    r_.client_command->exit_code = client_.proc->exit_code();
    r_.client_command->out = client_.out;
    r_.client_command->err = client_.err;
  }
  if (r_.server_command) {
    r_.server_command->out = server_.out;
    r_.server_command->err = server_.err;
  }
  mark(opt_.phases, "agents reaped");
  if (!census_.empty()) sample(monotonic_ns());
  mark(opt_.phases, "final census");
  stop_capture();
  mark(opt_.phases, "capture stop + pcap");
  if (topo_)
    for (size_t i = 0; i < topo_->links().size(); ++i) {
      const auto& state = topo_->links()[i];
      const auto& plan = topo_->plan().links[i];
      LinkRecord link{plan.a, plan.b, state.backend, state.seed, linkemu::to_json(state.base_a_to_b),
                      linkemu::to_json(state.base_b_to_a), nullptr};
      if (auto stats = topo_->link_stats(i)) link.stats = netns::to_json(*stats);
      r_.links.push_back(std::move(link));
    }
  for (const auto& f : faults_) {
    FaultWindow w{f.fault.label(), f.installed, f.healed, f.index, {}};
    for (const auto& rules : f.applied.rules)
      for (const auto& ifname : rules.ifnames) w.ingress.emplace_back(rules.host, ifname);
    r_.faults.push_back(std::move(w));
  }
  r_.t_end = monotonic_ns();
  mark(opt_.phases, "records");
}

RunRecord CellRun::run() {
  if (build()) {
    Status st;
    if (s_.upstream_server) st = launch_upstream();
    if (st.ok()) st = launch_server();
    for (auto& f : faults_)
      if (st.ok() && f.fault.at.count() == 0)
        if (auto in = install(f); !in.ok()) st = Error::plain("install " + f.fault.label() + ": " + in.error().str());
    if (st.ok()) st = launch_client();
    if (!st.ok()) fail(st.error().str());
    if (!failed()) loop();
  }
  finish();
  if (r_.t_start < 0) r_.t_start = r_.t_end;
  return std::move(r_);
}

}  // namespace

RunRecord record_run(const Cell& cell, const RunOptions& options, int run_number) {
  CellRun run(cell, options, run_number);
  return run.run();
}

std::vector<RunResult> run_cell(const Cell& cell, const RunOptions& options) {
  std::vector<RunResult> runs;
  // A program the scenario requires and this machine lacks: the cell is skipped (not run, not
  // an error), its reason naming the package to install.
  if (const std::string missing = missing_requirement(cell.scenario.required_programs); !missing.empty()) {
    RunResult skipped;
    skipped.outcome = Outcome::skipped;
    skipped.error_detail = missing;
    skipped.deadline_ms = to_ms(cell.scenario.deadline.count());
    runs.push_back(std::move(skipped));
    return runs;
  }
  for (int i = 0; i < std::max(1, cell.scenario.repeat); ++i) {
    runs.push_back(measure_run(record_run(cell, options, i + 1), cell.scenario));
    if (runs.back().error_detail == std::optional<std::string>(kInterruptedDetail)) break;
  }
  return runs;
}

}  // namespace sockchaos::harness
