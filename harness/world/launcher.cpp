#include "harness/world/launcher.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "harness/protocol/agent_spec.hpp"

namespace sockchaos::harness {

std::string tail_lines(const std::string& text, size_t lines) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
  size_t start = end;
  for (size_t n = 0; start > 0; --start)
    if (text[start - 1] == '\n' && ++n == lines) break;
  return text.substr(start, end - start);
}

namespace {

std::string exit_text(ChildProcess& proc, const std::string& err) {
  std::string out = "status " + std::to_string(proc.exit_code());
  const std::string tail = tail_lines(err);
  return tail.empty() ? out : out + ": " + tail;
}

Result<StartedServer> start_agent_server(const Host& host, const ServerSpec& spec, const std::string& upstream_address,
                                         const LaunchEnv& env, const std::string& role) {
  // A host with IPv6 listens on "::" (dual-stack: IPv4 clients too in a "dual" scenario).
  json agent_spec = make_server_agent_spec(spec, host.address6().empty() ? "0.0.0.0" : "::", upstream_address);
  auto child = ChildProcess::spawn_agent(host.ns, env.agent_path, agent_spec.dump());
  if (!child.ok()) return Error{"start the " + role + " agent: " + child.error().message, child.error().err};
  mark(env.phases, "server agent spawn (zygote fork or exec)");
  StartedServer out{std::move(child.value()), false, 0, {}, {}, {}};
  ChildProcess& proc = out.process;
  const int64_t until = monotonic_ns() + kAgentListenTimeout;
  for (;;) {
    std::vector<std::string> lines;
    proc.read_lines(lines);
    for (const auto& line : lines) {
      auto event = parse_agent_event(line);
      if (!event.ok()) return Error::plain(role + " agent: " + event.error().message);
      if (event->kind == AgentEventKind::fatal) return Error::plain(role + ": " + event->message);
      if (event->kind == AgentEventKind::listening) out.listening_at = event->t;
      out.early_events.push_back(std::move(event.value()));
    }
    if (out.listening_at > 0) {
      mark_at(env.phases, "server agent start + listen", out.listening_at);
      mark(env.phases, "listening line read");
      return out;
    }
    if (!proc.running())
      return Error::plain(role + " agent exited before listening (" + exit_text(proc, proc.drain_stderr()) + ")");
    const int64_t now = monotonic_ns();
    if (now >= until)
      return Error::plain(role + " agent did not start listening within " + std::to_string(kAgentListenTimeout / kSecond) +
                          " s");
    pollfd p[2] = {{proc.stdout_fd(), POLLIN, 0}, {proc.pidfd(), POLLIN, 0}};
    const timespec ts = to_timespec(until - now);
    ::ppoll(p, 2, &ts, nullptr);
  }
}

Placeholders placeholders_on(const std::string& host, const LaunchEnv& env) {
  Placeholders values = env.placeholders;
  if (env.topology) {
    values.addresses = addresses_from(*env.topology, host);
    values.addresses6 = addresses6_from(*env.topology, host);
  }
  return values;
}

Result<StartedServer> start_command_server(const Host& host, const ServerSpec& spec, const LaunchEnv& env,
                                           netns::Census& census, const std::string& role) {
  const std::string program = spec.command.empty() ? "" : spec.command.front();
  auto argv = prepare_command(host, spec.command, spec.files, env);
  if (!argv.ok()) return Error::plain(role + " command " + program + ": " + argv.error().message);
  auto child = ChildProcess::spawn(host.ns, argv.value(), env.placeholders.tmp);
  if (!child.ok()) return Error{role + " command " + program + ": " + child.error().message, child.error().err};
  StartedServer out{std::move(child.value()), true, 0, {}, {}, {}};
  auto ready = wait_until_listening(out.process, census, spec.port, kCommandListenTimeout, [&] {
    out.process.capture(out.out, out.err);
    return tail_lines(out.err);
  });
  if (!ready.ok()) return Error::plain(role + " command " + program + " on " + host.name + ": " + ready.error().message);
  out.listening_at = monotonic_ns();
  return out;
}

}  // namespace

std::vector<std::string> shown_command(const std::string& host, const std::vector<std::string>& command,
                                       const LaunchEnv& env) {
  const Placeholders values = placeholders_on(host, env);
  std::vector<std::string> out;
  for (const auto& a : command) {
    auto e = expand_placeholders(a, values);
    out.push_back(e.ok() ? e.value() : a);
  }
  return out;
}

Result<std::vector<std::string>> prepare_command(const Host& host, const std::vector<std::string>& command,
                                                 const std::vector<std::pair<std::string, std::string>>& files,
                                                 const LaunchEnv& env) {
  const Placeholders values = placeholders_on(host.name, env);
  std::string hosts_file;
  if (env.topology && !values.tmp.empty()) {
    hosts_file = values.tmp + "/.sockchaos-hosts-" + host.name;
    std::ofstream out(hosts_file, std::ios::binary | std::ios::trunc);
    if (!(out << hosts_file_text(*env.topology, host.name)) || !out.flush())
      return Error::plain("cannot write " + hosts_file + " (" + std::strerror(errno) + ")");
  }
  if (auto st = render_templates(files, values); !st.ok()) return st.error();
  return exec_argv(env.agent_path, command, values, hosts_file, host.name);
}

Result<StartedServer> start_server(const Host& host, const ServerSpec& spec, const std::string& upstream_address,
                                   const LaunchEnv& env, netns::Census& census, const std::string& role) {
  if (spec.behavior == ServerBehavior::command) return start_command_server(host, spec, env, census, role);
  return start_agent_server(host, spec, upstream_address, env, role);
}

Result<ChildProcess> start_client(const Host& host, const ClientSpec& client, const std::string& server_address,
                                  const LaunchEnv& env) {
  if (client.workload.kind == WorkloadKind::command) {
    const std::string program = client.workload.command.empty() ? "" : client.workload.command.front();
    auto argv = prepare_command(host, client.workload.command, client.files, env);
    if (!argv.ok()) return Error::plain("client command " + program + ": " + argv.error().message);
    return ChildProcess::spawn(host.ns, argv.value(), env.placeholders.tmp);
  }
  return ChildProcess::spawn_agent(host.ns, env.agent_path, make_client_agent_spec(client, server_address).dump());
}

}  // namespace sockchaos::harness
