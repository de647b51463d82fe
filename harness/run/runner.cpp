#include "harness/run/runner.hpp"
#include "harness/world/user_command.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <cmath>
#include <map>
#include <optional>

#include "harness/metrics/stats.hpp"
#include "harness/protocol/events.hpp"
#include "harness/protocol/agent_spec.hpp"
#include "harness/verdict/expectations.hpp"
#include "harness/world/fault_injector.hpp"
#include "harness/world/faults.hpp"
#include "harness/world/process.hpp"
#include "harness/world/environment.hpp"
#include "harness/world/topology.hpp"
#include "netns/census.hpp"
#include "netns/link.hpp"

namespace sockchaos::harness {

namespace {


struct Sample {
  int64_t t;
  std::map<std::string, StateCounts> counts;
};

struct TimelineEvent {
  int64_t t;
  std::string event, detail;
};

struct ProbeItem {
  int64_t t;
  int64_t connect_ns;
  std::string err;  // "" = success
};

struct FaultState {
  const Fault* fault = nullptr;
  int index = 0;
  int64_t installed = -1, healed = -1;
  FaultInjector::Installed applied;
};

struct ClientError {
  int64_t t = -1;
  std::string syscall, err;
};

std::string errno_label(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::pair<std::string, int> split_host_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return {s, 0};
  return {s.substr(0, colon), std::atoi(s.c_str() + colon + 1)};
}

class CellRun {
 public:
  CellRun(const Cell& cell, const RunOptions& options)
      : cell_(cell), s_(cell.scenario), opt_(options) {}
  ~CellRun() {
    if (client_) client_->kill_and_reap();
    if (server_) server_->kill_and_reap();
    if (upstream_) upstream_->kill_and_reap();
    if (!scratch_dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir_, ec);
    }
  }

  json run();

 private:
  json fail(const std::string& detail);
  Status start_server();
  Status start_upstream();
  Status start_client();
  Status install(FaultState& f);
  Status heal(FaultState& f);
  void sample(int64_t now);
  void settle();
  void handle_client_line(const std::string& line);
  void handle_server_line(const std::string& line);
  std::vector<ChildProcess*> processes_on(const std::string& host);
  void set_base(int64_t t);
  json build_result();

  const Cell& cell_;
  const Scenario& s_;
  const RunOptions& opt_;

  std::optional<Topology> topo_;
  std::map<std::string, netns::Census> census_;
  std::optional<FaultInjector> injector_;
  std::map<std::string, std::map<std::string, int64_t>> counters_;
  std::optional<ChildProcess> server_, client_;
  std::optional<ChildProcess> upstream_;  // scenario's upstream_server (e.g. behind a proxy)
  bool server_command_ = false, client_command_ = false;
  std::string client_out_, client_err_, server_out_, server_err_;
  std::string scratch_dir_;
  std::vector<std::string> command_argv(const std::vector<std::string>& command) const;
  bool server_listening_ = false;
  bool server_expected_gone_ = false, client_expected_gone_ = false;
  std::string fatal_;

  std::vector<FaultState> faults_;
  std::vector<Sample> samples_;
  std::vector<TimelineEvent> events_;
  std::vector<ProbeItem> probes_;
  std::vector<ProbeItem> requests_;

  int64_t t_start_ = -1, t_ready_ = -1, base_ = -1, first_fault_ = -1;
  int64_t workload_end_ = -1;
  bool client_done_ = false;
  bool deadline_hit_ = false;
  ClientError error_;
};

json CellRun::fail(const std::string& detail) {
  json run = json::object();
  run["outcome"] = "error";
  run["detection_ms"] = nullptr;
  run["error"] = nullptr;
  run["mechanism"] = nullptr;
  run["error_detail"] = detail;
  run["sockets"] = json::object();
  run["probes"] = {{"attempted", 0}, {"succeeded", 0}, {"failed", json::object()}};
  run["timeline"] = json::array();
  return run;
}

std::vector<ChildProcess*> CellRun::processes_on(const std::string& host) {
  std::vector<ChildProcess*> v;
  if (server_ && s_.server.on == host) v.push_back(&*server_);
  if (upstream_ && s_.upstream_server && s_.upstream_server->on == host) v.push_back(&*upstream_);
  if (client_ && s_.client.on == host) v.push_back(&*client_);
  return v;
}

std::vector<std::string> CellRun::command_argv(const std::vector<std::string>& command) const {
  Placeholders values;
  values.server =
      topo_->has_host(s_.client.connect_host) ? topo_->address_for(s_.client.connect_host, s_.client.on) : "";
  values.port = std::to_string(s_.client.connect_port);
  values.dir = std::filesystem::absolute(std::filesystem::path(s_.file).parent_path()).string();
  if (s_.file.empty() || s_.file == "<dict>") values.dir = std::filesystem::current_path().string();
  values.tmp = scratch_dir_;
  return exec_argv(opt_.agent_path, command, values);
}

Status CellRun::start_server() {
  const auto& host = topo_->host(s_.server.on);
  if (s_.server.behavior == "command") {
    server_command_ = true;
    auto child = ChildProcess::spawn(host.ns, command_argv(s_.server.command), scratch_dir_);
    if (!child.ok()) return child.error();
    server_.emplace(std::move(child.value()));
    auto ready = wait_until_listening(*server_, census_.at(s_.server.on), s_.server.port, 10000 * kMillisecond, [this] {
      server_->capture(server_out_, server_err_);
      return server_err_;
    });
    if (!ready.ok()) return ready;
    events_.push_back({monotonic_ns(), "server-listening", "command"});
    return {};
  }
  std::string upstream_address;
  if (s_.server.behavior == "proxy") {
    auto [up_host, up_port] = split_host_port(s_.server.upstream);
    (void)up_port;
    if (!topo_->has_host(up_host)) return Error::plain("proxy upstream names unknown host " + up_host);
    upstream_address = topo_->address_for(up_host, s_.server.on);
  }
  json spec = make_server_agent_spec(s_.server, "0.0.0.0", upstream_address);
  auto child = ChildProcess::spawn(host.ns, {opt_.agent_path, spec.dump()});
  if (!child.ok()) return child.error();
  server_.emplace(std::move(child.value()));
  // Wait (bounded) for "listening".
  int64_t until = monotonic_ns() + 5000 * kMillisecond;
  while (!server_listening_) {
    int64_t now = monotonic_ns();
    if (now >= until) return Error::plain("server agent did not start listening within 5 s");
    pollfd p[2] = {{server_->stdout_fd(), POLLIN, 0}, {server_->pidfd(), POLLIN, 0}};
    int timeout = static_cast<int>((until - now) / kMillisecond) + 1;
    ::poll(p, 2, timeout);
    std::vector<std::string> lines;
    server_->read_lines(lines);
    for (const auto& l : lines) handle_server_line(l);
    if (!fatal_.empty()) return Error::plain(fatal_);
    if (!server_listening_ && (p[1].revents & POLLIN)) {
      server_->try_reap();
      std::string err = server_->drain_stderr();
      return Error::plain("server agent exited before listening (status " +
                          std::to_string(server_->exit_code()) + ")" +
                          (err.empty() ? "" : ": " + err));
    }
  }
  return {};
}

// The upstream server: an agent like the main server, started first so that a proxy's
// first upstream connect finds it listening. Its events are read only for "listening" and
// "fatal"; the rest is drained (and ignored) by the main loop.
Status CellRun::start_upstream() {
  const ServerSpec& up = *s_.upstream_server;
  json spec = make_server_agent_spec(up, "0.0.0.0", "");
  auto child = ChildProcess::spawn(topo_->host(up.on).ns, {opt_.agent_path, spec.dump()});
  if (!child.ok()) return child.error();
  upstream_.emplace(std::move(child.value()));
  int64_t until = monotonic_ns() + 5000 * kMillisecond;
  for (;;) {
    int64_t now = monotonic_ns();
    if (now >= until) return Error::plain("upstream server agent did not start listening within 5 s");
    pollfd p[2] = {{upstream_->stdout_fd(), POLLIN, 0}, {upstream_->pidfd(), POLLIN, 0}};
    ::poll(p, 2, static_cast<int>((until - now) / kMillisecond) + 1);
    std::vector<std::string> lines;
    upstream_->read_lines(lines);
    for (const auto& l : lines) {
      json ev = json::parse(l, nullptr, false);
      if (ev.is_discarded() || !ev.is_object()) continue;
      std::string kind = ev.value("ev", "");
      if (kind == "fatal") return Error::plain("upstream server: " + ev.value("message", std::string("fatal error")));
      if (kind == "listening") {
        events_.push_back({ev.value("t", int64_t{0}), "upstream-listening", up.on + ":" + std::to_string(up.port)});
        return {};
      }
    }
    if (p[1].revents & POLLIN) {
      upstream_->try_reap();
      std::string err = upstream_->drain_stderr();
      return Error::plain("upstream server agent exited before listening (status " +
                          std::to_string(upstream_->exit_code()) + ")" + (err.empty() ? "" : ": " + err));
    }
  }
}

Status CellRun::start_client() {
  const auto& host = topo_->host(s_.client.on);
  if (!topo_->has_host(s_.client.connect_host))
    return Error::plain("client connects to unknown host " + s_.client.connect_host);
  if (s_.client.workload.kind == "command") {
    client_command_ = true;
    auto child = ChildProcess::spawn(host.ns, command_argv(s_.client.workload.command), scratch_dir_);
    if (!child.ok()) return child.error();
    client_.emplace(std::move(child.value()));
    t_start_ = monotonic_ns();
    events_.push_back({t_start_, "client-start", "command"});
    set_base(t_start_);
    return {};
  }
  std::string address = topo_->address_for(s_.client.connect_host, s_.client.on);
  json spec = make_client_agent_spec(s_.client, address);
  auto child = ChildProcess::spawn(host.ns, {opt_.agent_path, spec.dump()});
  if (!child.ok()) return child.error();
  client_.emplace(std::move(child.value()));
  t_start_ = monotonic_ns();
  return {};
}

Status CellRun::install(FaultState& f) {
  const Fault& fault = *f.fault;
  if (fault.kind == "kill" || fault.kind == "crash")
    for (ChildProcess* p : processes_on(fault.on)) {
      if (server_ && p == &*server_) server_expected_gone_ = true;
      if (client_ && p == &*client_) client_expected_gone_ = true;
    }
  auto done = injector_->install(fault, f.index);
  if (!done.ok()) return done.error();
  f.installed = done->at_ns;
  f.applied = std::move(done.value());
  if (first_fault_ < 0) first_fault_ = f.installed;
  events_.push_back({f.installed, "fault", fault.label()});
  return {};
}

Status CellRun::heal(FaultState& f) {
  const Fault& fault = *f.fault;
  auto healed = injector_->heal(fault, f.applied);
  if (!healed.ok()) return healed.error();
  if (fault.kind == "crash") {
    // The host is back, empty: its services start again with none of the old connections,
    // so an old connection's next segment meets a RST and new connections succeed.
    if (upstream_ && s_.upstream_server->on == fault.on) {
      upstream_.reset();
      if (auto st = start_upstream(); !st.ok()) return Error::plain("restart upstream after crash: " + st.error().message);
    }
    if (s_.server.on == fault.on) {
      server_listening_ = false;
      server_expected_gone_ = false;
      server_.reset();
      if (auto st = start_server(); !st.ok()) return Error::plain("restart server after crash: " + st.error().message);
    }
  }
  f.healed = *healed;
  events_.push_back({f.healed, "heal", fault.label()});
  return {};
}

void CellRun::sample(int64_t now) {
  Sample smp{now, {}};
  for (auto& [host, census] : census_) {
    auto c = census.count();
    if (c.ok()) smp.counts[host] = c.value();
  }
  samples_.push_back(std::move(smp));
}

bool same_counts(const std::map<std::string, StateCounts>& a,
                 const std::map<std::string, StateCounts>& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
    if (ia->first != ib->first || ia->second.by_state != ib->second.by_state) return false;
  return true;
}

// After the workload ends, the last closes are still in flight (a FIN on its way, the peer's
// close pending, a busy machine delaying the server's close): sample (2 ms apart at first,
// then every 10 ms) until two
// samples agree and no socket is half-way through a handshake or a close, or, when some are
// (a peer that never closes, a blackholed FIN), until the counts have held still for 200 ms;
// at most 2 s. The census then reports where the sockets came to rest.
void CellRun::settle() {
  const int64_t until = monotonic_ns() + 2000 * kMillisecond;
  int64_t still_since = -1;
  int64_t step = 2 * kMillisecond;
  for (;;) {
    int64_t now = monotonic_ns();
    if (now >= until) return;
    pollfd p{opt_.cancel_fd, POLLIN, 0};
    timespec ts{0, static_cast<long>(step)};
    if (::ppoll(&p, opt_.cancel_fd >= 0 ? 1 : 0, &ts, nullptr) > 0) return;
    step = std::min<int64_t>(step * 2, 10 * kMillisecond);  // 2, 4, 8, 10, 10... ms
    now = monotonic_ns();
    sample(now);
    const auto& last = samples_[samples_.size() - 1].counts;
    if (same_counts(last, samples_[samples_.size() - 2].counts)) {
      // Nothing half-way through a handshake or a close: the counts are final.
      bool transient = false;
      for (const auto& [host, c] : last)
        for (const char* st : {"SYN_SENT", "SYN_RECV", "NEW_SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "CLOSING",
                               "LAST_ACK", "CLOSE_WAIT"})
          if (c.get(st) > 0) transient = true;
      if (!transient) return;
      if (still_since < 0) still_since = samples_[samples_.size() - 2].t;
      if (now - still_since >= 200 * kMillisecond) return;
    } else {
      still_since = -1;
    }
  }
}

void CellRun::set_base(int64_t t) {
  if (base_ >= 0) return;
  base_ = t;
}

void CellRun::handle_server_line(const std::string& line) {
  json ev = json::parse(line, nullptr, false);
  if (ev.is_discarded() || !ev.is_object()) return;
  std::string kind = ev.value("ev", "");
  int64_t t = ev.value("t", int64_t{0});
  if (kind == "listening") {
    server_listening_ = true;
    events_.push_back({t, "server-listening", ""});
  } else if (kind == "fatal") {
    fatal_ = "server: " + ev.value("message", std::string("fatal error"));
  }
}

void CellRun::handle_client_line(const std::string& line) {
  json ev = json::parse(line, nullptr, false);
  if (ev.is_discarded() || !ev.is_object()) return;
  std::string kind = ev.value("ev", "");
  int64_t t = ev.value("t", int64_t{0});
  if (kind == "start") {
    events_.push_back({t, "client-start", ""});
    bool base_from_start = s_.client.workload.kind == "probe" || s_.client.workload.kind == "command";
    for (const auto& f : s_.faults)
      if (f.at.count() == 0) base_from_start = true;
    if (base_from_start) set_base(t);
  } else if (kind == "ready") {
    t_ready_ = t;
    events_.push_back({t, "ready", ""});
    set_base(t);
  } else if (kind == "error") {
    if (error_.t < 0) {
      error_.t = t;
      error_.syscall = ev.value("syscall", "");
      error_.err = errno_label(ev.contains("errno") ? ev["errno"] : json());
      events_.push_back({t, "client-error", error_.syscall + ": " + error_.err});
      if (workload_end_ < 0) workload_end_ = t;
    }
  } else if (kind == "probes" || kind == "requests") {
    auto& dst = (kind == "probes") ? probes_ : requests_;
    if (ev.contains("items") && ev["items"].is_array()) {
      for (const auto& it : ev["items"]) {
        if (!it.is_array() || it.size() < 3) continue;
        dst.push_back({it[0].get<int64_t>(), it[1].get<int64_t>(), errno_label(it[2])});
      }
    }
  } else if (kind == "done") {
    client_done_ = true;
    events_.push_back({t, "workload-done", ""});
    if (workload_end_ < 0) workload_end_ = t;
  } else if (kind == "fatal") {
    fatal_ = "client: " + ev.value("message", std::string("fatal error"));
  }
}

json CellRun::run() {
  auto topo = Topology::build(s_);
  if (!topo.ok()) {
    if (is_privilege_error(topo.error()))
      throw EnvironmentError("cannot build the scenario's network: " + topo.error().str(), kPrivilegeAdvice);
    return fail(topo.error().str());
  }
  topo_.emplace(std::move(topo.value()));
  injector_.emplace(*topo_, [this](const std::string& host) { return processes_on(host); });
  if (s_.server.behavior == "command" || s_.client.workload.kind == "command") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sockchaos-run-XXXXXX").string();
    if (::mkdtemp(tmpl.data())) scratch_dir_ = tmpl;
  }
  for (auto& h : topo_->hosts()) {
    auto c = netns::Census::open(h.ns);
    if (!c.ok()) return fail("socket census (inet_diag) in host " + h.name + ": " + c.error().str());
    census_.emplace(h.name, std::move(c.value()));
  }
  for (size_t i = 0; i < s_.faults.size(); ++i) {
    FaultState f;
    f.fault = &s_.faults[i];
    f.index = static_cast<int>(i);
    faults_.push_back(std::move(f));
  }

  if (s_.upstream_server)
    if (auto st = start_upstream(); !st.ok()) return fail(st.error().str());
  if (auto st = start_server(); !st.ok()) return fail(st.error().str());

  // Faults at "0s" go in before the workload starts (e.g. SYNs blackholed from the first connect).
  for (auto& f : faults_)
    if (f.fault->at.count() == 0)
      if (auto st = install(f); !st.ok()) return fail("install " + f.fault->label() + ": " + st.error().str());

  if (auto st = start_client(); !st.ok()) return fail(st.error().str());

  const int64_t sample_every = std::max<int64_t>(s_.sample_every.count(), 10 * kMillisecond);
  int64_t next_sample = t_start_;
  int64_t interval = sample_every;
  size_t events_seen = 0, probes_seen = 0, requests_seen = 0;
  const int64_t start_deadline = t_start_ + s_.deadline.count() + 30000 * kMillisecond;  // never hang
  int64_t observe_end = -1;
  bool client_exited = false;

  for (;;) {
    int64_t now = monotonic_ns();
    // Scheduled fault actions (relative to the workload's base time).
    if (base_ >= 0) {
      for (auto& f : faults_) {
        if (f.installed < 0 && f.fault->at.count() > 0 && now >= base_ + f.fault->at.count()) {
          if (auto st = install(f); !st.ok()) return fail("install " + f.fault->label() + ": " + st.error().str());
        }
        if (f.installed >= 0 && f.healed < 0 && f.fault->until && now >= base_ + f.fault->until->count()) {
          if (auto st = heal(f); !st.ok()) return fail("heal " + f.fault->label() + ": " + st.error().str());
        }
      }
    }
    now = monotonic_ns();
    if (now >= next_sample) {
      sample(now);
      // Sample at sample_every while anything changes; when the counts sit still, back off
      // (doubling, up to 1 s) — a cell waiting on a kernel timer then costs a dump a second,
      // not ten. Any event (fault, heal, agent output) restores the full rate.
      bool still = samples_.size() >= 2 &&
                   same_counts(samples_[samples_.size() - 1].counts, samples_[samples_.size() - 2].counts);
      interval = still ? std::min<int64_t>(std::max(interval * 2, sample_every), std::max<int64_t>(sample_every, 1000 * kMillisecond))
                       : sample_every;
      next_sample = now + interval;
    }
    if (events_.size() != events_seen || probes_.size() != probes_seen || requests_.size() != requests_seen) {
      events_seen = events_.size();
      probes_seen = probes_.size();
      requests_seen = requests_.size();
      if (interval > sample_every) {
        interval = sample_every;
        next_sample = std::min(next_sample, now + sample_every);
      }
    }
    if (!fatal_.empty()) return fail(fatal_);

    // End of the workload: error, done, exit, deadline or cancel.
    if (workload_end_ < 0) {
      int64_t deadline = -1;
      if (first_fault_ >= 0)
        deadline = first_fault_ + s_.deadline.count();
      else if (base_ >= 0 && faults_.empty())
        deadline = base_ + s_.deadline.count();
      else if (base_ >= 0)  // faults scheduled but not yet in: wait for them plus the deadline
        deadline = base_ + std::max_element(s_.faults.begin(), s_.faults.end(),
                                            [](const Fault& a, const Fault& b) { return a.at < b.at; })
                               ->at.count() + s_.deadline.count();
      if ((deadline >= 0 && now >= deadline) || now >= start_deadline) {
        deadline_hit_ = true;
        workload_end_ = now;
        events_.push_back({now, "deadline", "no client error within " + format_duration(s_.deadline)});
      }
    }
    if (workload_end_ >= 0 && observe_end < 0) {
      if (opt_.on_workload_end) opt_.on_workload_end();
      sample(monotonic_ns());
      if (client_ && !client_exited) {
        client_expected_gone_ = true;
        // Let the agent flush its last batch, then stop it.
        if (client_command_) {
          client_->capture(client_out_, client_err_);
        } else {
          std::vector<std::string> lines;
          client_->read_lines(lines);
          for (const auto& l : lines) handle_client_line(l);
        }
        client_->kill_and_reap();
        client_exited = true;
      }
      settle();
      observe_end = std::max(workload_end_ + s_.observe.count(), monotonic_ns());
      if (s_.observe.count() > 0) events_.push_back({workload_end_, "observe", "sampling for " + format_duration(s_.observe)});
    }
    if (observe_end >= 0 && now >= observe_end) break;

    // Sleep until the next thing that can happen.
    int64_t wake = next_sample;
    if (base_ >= 0)
      for (const auto& f : faults_) {
        if (f.installed < 0 && f.fault->at.count() > 0) wake = std::min(wake, base_ + f.fault->at.count());
        if (f.installed >= 0 && f.healed < 0 && f.fault->until) wake = std::min(wake, base_ + f.fault->until->count());
      }
    if (observe_end >= 0) wake = std::min(wake, observe_end);
    if (first_fault_ >= 0 && workload_end_ < 0) wake = std::min(wake, first_fault_ + s_.deadline.count());
    pollfd fds[9];
    int n = 0;
    int client_out = -1, client_pid = -1, server_out = -1, server_pid = -1, cancel = -1;
    int upstream_out = -1;
    if (upstream_ && upstream_->running()) {
      upstream_out = n;
      fds[n++] = {upstream_->stdout_fd(), POLLIN, 0};
    }
    int client_err = -1, server_err = -1;
    if (client_ && !client_exited) {
      client_out = n;
      fds[n++] = {client_->stdout_fd(), POLLIN, 0};
      client_pid = n;
      fds[n++] = {client_->pidfd(), POLLIN, 0};
      if (client_command_) {
        client_err = n;
        fds[n++] = {client_->stderr_fd(), POLLIN, 0};
      }
    }
    if (server_ && server_->running()) {
      server_out = n;
      fds[n++] = {server_->stdout_fd(), POLLIN, 0};
      server_pid = n;
      fds[n++] = {server_->pidfd(), POLLIN, 0};
      if (server_command_) {
        server_err = n;
        fds[n++] = {server_->stderr_fd(), POLLIN, 0};
      }
    }
    if (opt_.cancel_fd >= 0) {
      cancel = n;
      fds[n++] = {opt_.cancel_fd, POLLIN, 0};
    }
    now = monotonic_ns();
    int64_t wait = std::max<int64_t>(0, wake - now);
    timespec ts{static_cast<time_t>(wait / 1000000000LL), static_cast<long>(wait % 1000000000LL)};
    int rc = ::ppoll(fds, static_cast<nfds_t>(n), &ts, nullptr);
    if (rc < 0 && errno != EINTR) return fail(std::string("ppoll: ") + std::strerror(errno));
    if (rc <= 0) continue;
    if (cancel >= 0 && fds[cancel].revents) return fail("cancelled");
    if (upstream_out >= 0 && fds[upstream_out].revents) {
      std::vector<std::string> lines;  // keep its pipe from filling; only "fatal" matters
      if (!upstream_->read_lines(lines) && (fds[upstream_out].revents & (POLLHUP | POLLERR))) upstream_->try_reap();
    }
    if (client_command_ && client_pid >= 0 && (fds[client_pid].revents & POLLIN)) {
      // The user's client exited: its exit time and status are the outcome.
      int64_t t = monotonic_ns();
      client_->capture(client_out_, client_err_);
      client_->try_reap();
      client_exited = true;
      int code = client_->exit_code();
      events_.push_back({t, "client-exit", "status " + std::to_string(code)});
      if (code != 0 && error_.t < 0) error_ = {t, "exit", "exit:" + std::to_string(code)};
      if (code == 0) client_done_ = true;
      if (workload_end_ < 0) workload_end_ = t;
      continue;
    }
    if (client_command_ && ((client_out >= 0 && fds[client_out].revents) || (client_err >= 0 && fds[client_err].revents)))
      client_->capture(client_out_, client_err_);
    if (server_command_ && ((server_out >= 0 && fds[server_out].revents) || (server_err >= 0 && fds[server_err].revents)))
      server_->capture(server_out_, server_err_);
    if (!client_command_ && client_out >= 0 && fds[client_out].revents) {
      std::vector<std::string> lines;
      client_->read_lines(lines);
      for (const auto& l : lines) handle_client_line(l);
    }
    if (!server_command_ && server_out >= 0 && fds[server_out].revents) {
      std::vector<std::string> lines;
      server_->read_lines(lines);
      for (const auto& l : lines) handle_server_line(l);
    }
    if (client_pid >= 0 && (fds[client_pid].revents & POLLIN)) {
      std::vector<std::string> lines;
      client_->read_lines(lines);
      for (const auto& l : lines) handle_client_line(l);
      client_->try_reap();
      client_exited = true;
      int64_t t = monotonic_ns();
      if (!client_expected_gone_ && error_.t < 0 && !client_done_) {
        std::string err = client_->drain_stderr();
        if (!fatal_.empty()) return fail(fatal_);
        return fail("client agent exited unexpectedly (status " + std::to_string(client_->exit_code()) +
                    ")" + (err.empty() ? "" : ": " + err));
      }
      if (workload_end_ < 0) workload_end_ = t;
    }
    if (server_pid >= 0 && (fds[server_pid].revents & POLLIN)) {
      server_->try_reap();
      if (!server_expected_gone_)
        events_.push_back({monotonic_ns(), "server-exit", "status " + std::to_string(server_->exit_code())});
    }
  }
  // The kernel's own account of the run (aborts, time-wait overflows, retransmissions...),
  // read before the agents go so their teardown does not count.
  for (auto& h : topo_->hosts()) {
    auto c = netns::tcp_counters(h.ns);
    if (c.ok()) counters_[h.name] = std::move(c.value());
  }
  if (client_) client_->kill_and_reap();
  if (server_) server_->kill_and_reap();
  if (upstream_) upstream_->kill_and_reap();
  sample(monotonic_ns());
  return build_result();
}

json CellRun::build_result() {
  json run = json::object();
  const int64_t base = base_ >= 0 ? base_ : t_start_;
  auto rel = [&](int64_t t) { return to_ms(t - base); };

  // Probes: the first failure is the workload's "error" when nothing else reported one.
  ClientError err = error_;
  if (err.t < 0) {
    for (const auto& p : probes_)
      if (!p.err.empty() && (first_fault_ < 0 || p.t >= first_fault_)) {
        err = {p.t, "connect", p.err};
        break;
      }
    for (const auto& r : requests_)
      if (!r.err.empty() && (first_fault_ < 0 || r.t >= first_fault_) && (err.t < 0 || r.t < err.t)) {
        err = {r.t, "request", r.err};
        break;
      }
  }
  if (err.t >= 0) {
    run["outcome"] = "detected";
    int64_t from = (first_fault_ >= 0 && err.t >= first_fault_) ? first_fault_ : base;
    run["detection_ms"] = to_ms(err.t - from);
    if (first_fault_ < 0 || err.t < first_fault_) run["before_fault"] = true;
    run["error"] = err.err;
    run["syscall"] = err.syscall;
    run["mechanism"] = infer_mechanism(err.err, err.syscall, s_);
  } else {
    run["outcome"] = "undetected";
    run["detection_ms"] = nullptr;
    run["error"] = nullptr;
    run["syscall"] = nullptr;
    run["mechanism"] = nullptr;
  }
  run["fault_ms"] = first_fault_ >= 0 ? json(rel(first_fault_)) : json(nullptr);
  run["workload_end_ms"] = workload_end_ >= 0 ? json(rel(workload_end_)) : json(nullptr);
  run["deadline_ms"] = to_ms(s_.deadline.count());
  run["duration_ms"] = to_ms((samples_.empty() ? monotonic_ns() : samples_.back().t) - t_start_);

  json sockets = json::object();
  for (const auto& h : topo_->hosts()) {
    json peak = json::object();
    std::array<int64_t, 13> mx{};
    for (const auto& smp : samples_) {
      auto it = smp.counts.find(h.name);
      if (it == smp.counts.end()) continue;
      for (size_t i = 1; i < 13; ++i) mx[i] = std::max(mx[i], it->second.by_state[i]);
    }
    for (size_t i = 1; i < 13; ++i)
      if (mx[i] > 0) peak[tcp_state_name(static_cast<int>(i))] = mx[i];
    // When each state that was ever present first returned to 0 after its peak, in ms after
    // the workload ended (for a probe loop: its last close), null if it never did during the
    // observation. TIME_WAIT's is also time_wait_cleared_ms (its lifetime; the expectation
    // keys time_wait_cleared_after / _within read it). Sampling resolution: sample_every.
    json cleared = json::object();
    json tw_cleared = nullptr;
    for (size_t i = 1; i < 13; ++i) {
      if (mx[i] == 0) continue;
      size_t at_peak = samples_.size();
      for (size_t k = 0; k < samples_.size() && at_peak == samples_.size(); ++k) {
        auto it = samples_[k].counts.find(h.name);
        if (it != samples_[k].counts.end() && it->second.by_state[i] == mx[i]) at_peak = k;
      }
      json when = nullptr;
      for (size_t k = at_peak + 1; k < samples_.size() && workload_end_ >= 0; ++k) {
        auto it = samples_[k].counts.find(h.name);
        if (it != samples_[k].counts.end() && it->second.by_state[i] == 0) {
          when = to_ms(samples_[k].t - workload_end_);
          break;
        }
      }
      cleared[tcp_state_name(static_cast<int>(i))] = when;
      if (std::string(tcp_state_name(static_cast<int>(i))) == "TIME_WAIT") tw_cleared = when;
    }
    sockets[h.name] = {{"peak", peak}, {"cleared_ms", cleared}, {"time_wait_cleared_ms", tw_cleared}};
  }
  run["sockets"] = sockets;

  // Probe statistics.
  json probes = json::object();
  int64_t attempted = static_cast<int64_t>(probes_.size()), succeeded = 0;
  json failed = json::object();
  std::vector<double> lat;
  for (const auto& p : probes_) {
    if (p.err.empty()) {
      ++succeeded;
      if (p.connect_ns >= 0) lat.push_back(static_cast<double>(p.connect_ns) / 1e6);
    } else {
      failed[p.err] = failed.value(p.err, 0) + 1;
    }
  }
  std::sort(lat.begin(), lat.end());
  probes["attempted"] = attempted;
  probes["succeeded"] = succeeded;
  probes["failed"] = failed;
  if (attempted > 1) {
    double span = static_cast<double>(probes_.back().t - probes_.front().t) / 1e9;
    probes["per_second"] = span > 0 ? json(std::round(static_cast<double>(attempted - 1) / span * 10) / 10) : json(nullptr);
  }
  if (!lat.empty()) {
    auto r3 = [](double v) { return std::round(v * 1000) / 1000; };
    probes["connect_ms"] = {{"p50", r3(percentile_sorted(lat, 50))},
                            {"p99", r3(percentile_sorted(lat, 99))},
                            {"max", r3(lat.back())}};
  }
  if (!probes_.empty()) {
    // Per census window: probes attempted/failed and connect latency against TIME_WAIT.
    json series = json::array();
    size_t pi = 0;
    for (size_t si = 1; si < samples_.size(); ++si) {
      std::vector<double> wl;
      int64_t att = 0, fail_n = 0;
      while (pi < probes_.size() && probes_[pi].t < samples_[si].t) {
        ++att;
        if (!probes_[pi].err.empty()) ++fail_n;
        else if (probes_[pi].connect_ns >= 0) wl.push_back(static_cast<double>(probes_[pi].connect_ns) / 1e6);
        ++pi;
      }
      if (att == 0) continue;
      std::sort(wl.begin(), wl.end());
      json pt = {{"t_ms", rel(samples_[si].t)}, {"attempted", att}, {"failed", fail_n}};
      pt["connect_p50_ms"] = wl.empty() ? json(nullptr) : json(std::round(percentile_sorted(wl, 50) * 1000) / 1000);
      pt["connect_p99_ms"] = wl.empty() ? json(nullptr) : json(std::round(percentile_sorted(wl, 99) * 1000) / 1000);
      auto it = samples_[si].counts.find(s_.client.on);
      pt["time_wait"] = it == samples_[si].counts.end() ? 0 : it->second.get("TIME_WAIT");
      series.push_back(pt);
    }
    probes["series"] = series;
  }
  run["probes"] = probes;

  if (!requests_.empty()) {
    // Before / during / after the first fault window.
    int64_t f_start = first_fault_, f_end = -1;
    for (const auto& f : faults_)
      if (f.installed == first_fault_) f_end = f.healed;
    struct Phase { std::string name; int64_t a, b; };
    std::vector<Phase> phases;
    int64_t t_first = requests_.front().t, t_last = requests_.back().t + 1;
    if (f_start < 0) {
      phases.push_back({"all", t_first, t_last});
    } else {
      phases.push_back({"before", t_first, f_start});
      phases.push_back({"during", f_start, f_end >= 0 ? f_end : t_last});
      if (f_end >= 0) phases.push_back({"after", f_end, t_last});
    }
    json out = json::array();
    for (const auto& ph : phases) {
      std::vector<double> l;
      int64_t errors = 0;
      for (const auto& r : requests_) {
        if (r.t < ph.a || r.t >= ph.b) continue;
        if (r.err.empty()) l.push_back(static_cast<double>(r.connect_ns) / 1e6);
        else ++errors;
      }
      std::sort(l.begin(), l.end());
      double secs = std::max(1e-9, static_cast<double>(ph.b - ph.a) / 1e9);
      double mean = 0;
      for (double v : l) mean += v;
      if (!l.empty()) mean /= static_cast<double>(l.size());
      auto r2 = [](double v) { return std::isnan(v) ? json(nullptr) : json(std::round(v * 100) / 100); };
      out.push_back({{"phase", ph.name}, {"start_ms", rel(ph.a)}, {"end_ms", rel(ph.b)},
                     {"requests", static_cast<int64_t>(l.size())}, {"errors", errors},
                     {"tps", std::round(static_cast<double>(l.size()) / secs * 10) / 10},
                     {"p50_ms", r2(percentile_sorted(l, 50))}, {"p90_ms", r2(percentile_sorted(l, 90))},
                     {"p99_ms", r2(percentile_sorted(l, 99))},
                     {"max_ms", l.empty() ? json(nullptr) : r2(l.back())}, {"mean_ms", r2(l.empty() ? NAN : mean)}});
    }
    run["requests"] = {{"phases", out}};
  }

  if (client_command_ || server_command_) {
    json cmd = json::object();
    if (client_command_) {
      cmd["argv"] = command_argv(s_.client.workload.command);
      cmd["argv"].erase(cmd["argv"].begin(), cmd["argv"].begin() + 3);
      cmd["exit"] = client_->exit_code();
      cmd["stdout"] = client_out_;
      cmd["stderr"] = client_err_;
    }
    if (server_command_) {
      json sv = {{"stdout", server_out_}, {"stderr", server_err_}};
      sv["argv"] = command_argv(s_.server.command);
      sv["argv"].erase(sv["argv"].begin(), sv["argv"].begin() + 3);
      cmd["server"] = sv;
    }
    run["command"] = cmd;
  }

  // Non-zero TCP counters per host (the interesting ones are rare events: overflows, aborts).
  json kc = json::object();
  for (const auto& [host, m] : counters_) {
    json h = json::object();
    for (const auto& [name, value] : m)
      if (value != 0 && name.rfind("TcpExt.", 0) == 0) h[name] = value;
    for (const char* k : {"Tcp.ActiveOpens", "Tcp.PassiveOpens", "Tcp.AttemptFails", "Tcp.EstabResets",
                          "Tcp.RetransSegs", "Tcp.OutRsts"}) {
      auto it = m.find(k);
      if (it != m.end() && it->second != 0) h[k] = it->second;
    }
    kc[host] = h;
  }
  run["tcp_counters"] = kc;

  json faults = json::array();
  for (const auto& f : faults_)
    faults.push_back({{"label", f.fault->label()},
                      {"installed_ms", f.installed >= 0 ? json(rel(f.installed)) : json(nullptr)},
                      {"healed_ms", f.healed >= 0 ? json(rel(f.healed)) : json(nullptr)}});
  run["faults"] = faults;

  // Timeline: samples and events in time order.
  std::vector<std::pair<int64_t, json>> entries;
  for (const auto& smp : samples_) {
    json hosts = json::object();
    for (const auto& [host, counts] : smp.counts) {
      json states = json::object();
      for (size_t i = 1; i < 13; ++i)
        if (counts.by_state[i] > 0) states[tcp_state_name(static_cast<int>(i))] = counts.by_state[i];
      hosts[host] = states;
    }
    entries.emplace_back(smp.t, json{{"t_ms", rel(smp.t)}, {"sockets", hosts}});
  }
  for (const auto& ev : events_)
    entries.emplace_back(ev.t, json{{"t_ms", rel(ev.t)}, {"event", ev.event}, {"detail", ev.detail}});
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  json timeline = json::array();
  for (auto& [t, e] : entries) timeline.push_back(std::move(e));
  run["timeline"] = timeline;
  return run;
}

}  // namespace

std::string infer_mechanism(const std::string& error, const std::string& syscall,
                            const Scenario& scenario) {
  const auto& sock = scenario.client.socket;
  const auto& kind = scenario.client.workload.kind;
  int64_t user_timeout_ns = sock.tcp_user_timeout ? sock.tcp_user_timeout->count() : 0;
  for (const auto& raw : sock.raw)
    if (raw.level == 6 && raw.name == 18) user_timeout_ns = static_cast<int64_t>(raw.int_value) * kMillisecond;
  if (error == "app_timeout") return "app_timeout";
  if (error == "connect_timeout") return "connect_timeout";
  if (error == "EAGAIN" || error == "EWOULDBLOCK")
    return syscall == "send" ? "sndtimeo" : "rcvtimeo";
  if (error == "ECONNRESET" || error == "EPIPE") return "rst";
  if (error == "ECONNREFUSED") return "refused";
  if (error == "EOF") return "fin";
  if (error == "EADDRNOTAVAIL") return "port_exhaustion";
  if (error == "EHOSTUNREACH" || error == "ENETUNREACH" || error == "EACCES" || error == "EPERM")
    return "icmp";
  if (error == "ETIMEDOUT") {
    if (syscall == "connect" && kind != "request") return user_timeout_ns > 0 ? "tcp_user_timeout" : "syn_retries";
    bool keepalive = sock.keepalive && sock.keepalive->enabled;
    if (kind == "idle" && keepalive) {
      // What the socket did not set comes from the client host's sysctls (kernel defaults
      // 7200 s, 75 s, 9 in a fresh namespace).
      auto sysctl_or = [&](const char* key, int64_t fallback) {
        for (const auto& h : scenario.hosts)
          if (h.name == scenario.client.on)
            for (const auto& [k, v] : h.sysctl)
              if (k == key) {
                try {
                  return static_cast<int64_t>(std::stoll(v));
                } catch (const std::exception&) {
                }
              }
        return fallback;
      };
      const Keepalive& ka = *sock.keepalive;
      const int64_t idle = ka.idle.count() > 0 ? ka.idle.count() : sysctl_or("net.ipv4.tcp_keepalive_time", 7200);
      const int64_t intvl =
          ka.interval.count() > 0 ? ka.interval.count() : sysctl_or("net.ipv4.tcp_keepalive_intvl", 75);
      const int64_t cnt = ka.count > 0 ? ka.count : sysctl_or("net.ipv4.tcp_keepalive_probes", 9);
      int64_t ka_ns = (idle + intvl * cnt) * 1000 * kMillisecond;
      if (user_timeout_ns > 0 && user_timeout_ns < ka_ns) return "tcp_user_timeout";
      return "keepalive";
    }
    if (user_timeout_ns > 0) return "tcp_user_timeout";
    return "tcp_retries2";
  }
  if (error.rfind("exit:", 0) == 0) return "exit";
  return "other";
}

json run_cell_once(const Cell& cell, const RunOptions& options) {
  CellRun r(cell, options);
  return r.run();
}

json run_cell(const Cell& cell, const RunOptions& options) {
  json out = json::object();
  out["id"] = cell.id;
  out["params"] = cell.params;
  json runs = json::array();
  for (int i = 0; i < std::max(1, cell.scenario.repeat); ++i) {
    runs.push_back(run_cell_once(cell, options));
    if (runs.back().value("error_detail", "") == "cancelled") break;
  }
  out["runs"] = runs;
  json exp = json::array();
  for (const auto& r : evaluate_expectations(cell, runs))
    exp.push_back({{"check", r.check}, {"passed", r.passed}, {"detail", r.detail}});
  out["expectations"] = exp;
  std::vector<double> det;
  int detected = 0;
  for (const auto& r : runs)
    if (r.value("outcome", "") == "detected" && r["detection_ms"].is_number()) {
      ++detected;
      det.push_back(r["detection_ms"].get<double>());
    }
  std::sort(det.begin(), det.end());
  json summary = {{"runs", runs.size()}, {"detected", detected}};
  if (!det.empty()) {
    double median = det.size() % 2 ? det[det.size() / 2] : (det[det.size() / 2 - 1] + det[det.size() / 2]) / 2;
    summary["detection_ms"] = {{"min", det.front()}, {"median", std::round(median * 10) / 10}, {"max", det.back()}};
  }
  out["summary"] = summary;
  return out;
}

}  // namespace sockchaos::harness
