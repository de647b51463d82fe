#include "harness/world/launcher.hpp"

#include <poll.h>

#include "harness/protocol/agent_spec.hpp"

namespace sockchaos::harness {
namespace {

// The last `lines` lines of a command's stderr, for messages.
std::string tail_lines(const std::string& text, size_t lines = 5) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
  size_t start = end;
  for (size_t n = 0; start > 0; --start)
    if (text[start - 1] == '\n' && ++n == lines) break;
  return text.substr(start, end - start);
}

std::string exit_text(ChildProcess& proc, const std::string& err) {
  std::string out = "status " + std::to_string(proc.exit_code());
  const std::string tail = tail_lines(err);
  return tail.empty() ? out : out + ": " + tail;
}

Result<StartedServer> start_agent_server(const Host& host, const ServerSpec& spec, const std::string& upstream_address,
                                         const LaunchEnv& env, const std::string& role) {
  json agent_spec = make_server_agent_spec(spec, "0.0.0.0", upstream_address);
  auto child = ChildProcess::spawn(host.ns, {env.agent_path, agent_spec.dump()});
  if (!child.ok()) return Error{"start the " + role + " agent: " + child.error().message, child.error().err};
  mark(env.phases, "server agent fork+exec");
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
      mark_at(env.phases, "server agent ld.so+init+listen", out.listening_at);
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

Result<StartedServer> start_command_server(const Host& host, const ServerSpec& spec, const LaunchEnv& env,
                                           netns::Census& census, const std::string& role) {
  const std::string program = spec.command.empty() ? "" : spec.command.front();
  auto child = ChildProcess::spawn(host.ns, exec_argv(env.agent_path, spec.command, env.placeholders),
                                   env.placeholders.tmp);
  if (!child.ok()) return Error{role + " command " + program + ": " + child.error().message, child.error().err};
  StartedServer out{std::move(child.value()), true, 0, {}, {}, {}};
  auto ready = wait_until_listening(out.process, census, spec.port, kCommandListenTimeout, [&] {
    out.process.capture(out.out, out.err);
    return tail_lines(out.err);
  });
  if (!ready.ok()) return Error::plain(role + " command " + program + ": " + ready.error().message);
  out.listening_at = monotonic_ns();
  return out;
}

}  // namespace

std::vector<std::string> shown_command(const std::vector<std::string>& command, const Placeholders& values) {
  std::vector<std::string> out;
  for (const auto& a : command) out.push_back(expand_placeholders(a, values));
  return out;
}

Result<StartedServer> start_server(const Host& host, const ServerSpec& spec, const std::string& upstream_address,
                                   const LaunchEnv& env, netns::Census& census, const std::string& role) {
  if (spec.behavior == ServerBehavior::command) return start_command_server(host, spec, env, census, role);
  return start_agent_server(host, spec, upstream_address, env, role);
}

Result<ChildProcess> start_client(const Host& host, const ClientSpec& client, const std::string& server_address,
                                  const LaunchEnv& env) {
  if (client.workload.kind == WorkloadKind::command)
    return ChildProcess::spawn(host.ns, exec_argv(env.agent_path, client.workload.command, env.placeholders),
                               env.placeholders.tmp);
  return ChildProcess::spawn(host.ns, {env.agent_path, make_client_agent_spec(client, server_address).dump()});
}

}  // namespace sockchaos::harness
