#include "harness/world/user_command.hpp"

#include <poll.h>

#include "harness/protocol/events.hpp"

namespace sockchaos::harness {

std::string expand_placeholders(const std::string& arg, const Placeholders& values) {
  const std::pair<const char*, const std::string*> keys[] = {
      {"{server}", &values.server}, {"{port}", &values.port}, {"{dir}", &values.dir}, {"{tmp}", &values.tmp}};
  std::string out;
  for (size_t i = 0; i < arg.size();) {
    bool replaced = false;
    for (const auto& [key, value] : keys) {
      const std::string_view k(key);
      if (arg.compare(i, k.size(), k) == 0) {
        out += *value;
        i += k.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += arg[i++];
  }
  return out;
}

std::vector<std::string> exec_argv(const std::string& agent_path, const std::vector<std::string>& command,
                                   const Placeholders& values) {
  std::vector<std::string> argv{agent_path, "exec", "--"};
  for (const auto& a : command) argv.push_back(expand_placeholders(a, values));
  return argv;
}

Status wait_until_listening(ChildProcess& proc, netns::Census& census, int port, int64_t timeout_ns,
                            const std::function<std::string()>& poll_output) {
  const int64_t until = monotonic_ns() + timeout_ns;
  for (;;) {
    auto counts = census.count();
    if (counts.ok())
      for (auto p : counts->listening_ports)
        if (p == port) return {};
    const std::string err = poll_output();
    if (!proc.running())
      return Error::plain("server command exited before listening on port " + std::to_string(port) + " (status " +
                          std::to_string(proc.exit_code()) + ")" + (err.empty() ? "" : ": " + err));
    if (monotonic_ns() >= until)
      return Error::plain("server command did not listen on port " + std::to_string(port) + " within " +
                          std::to_string(timeout_ns / 1000000000) + " s");
    pollfd p{proc.pidfd(), POLLIN, 0};
    ::poll(&p, 1, 20);
  }
}

}  // namespace sockchaos::harness
