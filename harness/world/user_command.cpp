#include "harness/world/user_command.hpp"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "harness/model/types.hpp"
#include "harness/protocol/events.hpp"

namespace sockchaos::harness {

Result<std::string> expand_placeholders(const std::string& arg, const Placeholders& values) {
  return substitute_placeholders(arg, [&](const PlaceholderRef& ref, std::string& why) -> std::optional<std::string> {
    if (!ref.has_arg) {
      if (ref.name == "server") return values.server;
      if (ref.name == "port") return values.port;
      if (ref.name == "dir") return values.dir;
      if (ref.name == "tmp") return values.tmp;
    } else if (ref.name == "addr") {
      auto it = values.addresses.find(ref.arg);
      if (it != values.addresses.end()) return it->second;
      why = "unknown host \"" + ref.arg + "\"";
      return std::nullopt;
    } else if (ref.name == "addr6") {
      auto it = values.addresses6.find(ref.arg);
      if (it != values.addresses6.end() && !it->second.empty()) return it->second;
      why = "host \"" + ref.arg + "\" has no IPv6 address: set the scenario's \"family\" to \"ipv6\" or \"dual\"";
      return std::nullopt;
    }
    why = std::string("unknown placeholder; expected ") + kPlaceholderList;
    return std::nullopt;
  });
}

Result<std::vector<std::string>> exec_argv(const std::string& agent_path, const std::vector<std::string>& command,
                                           const Placeholders& values, const std::string& hosts_file,
                                           const std::string& hostname) {
  std::vector<std::string> argv{agent_path, "exec"};
  if (!hosts_file.empty()) argv.insert(argv.end(), {"--hosts", hosts_file});
  if (!hostname.empty()) argv.insert(argv.end(), {"--hostname", hostname});
  argv.push_back("--");
  for (size_t i = 0; i < command.size(); ++i) {
    auto a = expand_placeholders(command[i], values);
    if (!a.ok()) return Error::plain("argument " + std::to_string(i) + " \"" + command[i] + "\": " + a.error().message);
    argv.push_back(std::move(a.value()));
  }
  return argv;
}

std::map<std::string, std::string> addresses_from(const Topology& topology, const std::string& host) {
  std::map<std::string, std::string> out;
  // {addr:HOST} is the scenario's first family: IPv4, or IPv6 in an "ipv6" scenario.
  const bool v6_only = topology.family() == IpFamily::ipv6;
  for (const auto& h : topology.plan().hosts) out[h.name] = topology.address_for(h.name, host, v6_only);
  return out;
}

std::map<std::string, std::string> addresses6_from(const Topology& topology, const std::string& host) {
  std::map<std::string, std::string> out;
  if (topology.family() == IpFamily::ipv4) return out;
  for (const auto& h : topology.plan().hosts) out[h.name] = topology.address_for(h.name, host, true);
  return out;
}

std::string hosts_file_text(const Topology& topology, const std::string& host) {
  std::string out = "# sockchaos: the scenario's hosts as seen from host " + host + "\n";
  out += "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& [name, address] : addresses_from(topology, host)) out += address + "\t" + name + "\n";
  if (topology.family() == IpFamily::dual)
    for (const auto& [name, address] : addresses6_from(topology, host)) out += address + "\t" + name + "\n";
  return out;
}

Status render_templates(const std::vector<std::pair<std::string, std::string>>& files, const Placeholders& values) {
  for (const auto& [name, source] : files) {
    auto path = expand_placeholders(source, values);
    if (!path.ok()) return Error::plain("template path \"" + source + "\": " + path.error().message);
    std::string p = path.value();
    if (!p.empty() && p.front() != '/') p = values.dir + "/" + p;
    std::ifstream in(p, std::ios::binary);
    if (!in) return Error::plain("cannot read the template " + p + " (" + std::strerror(errno) + ")");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto rendered = expand_placeholders(text, values);
    if (!rendered.ok()) return Error::plain(p + ": " + rendered.error().message);
    const std::string target = values.tmp + "/" + name;
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    if (!(out << rendered.value()) || !out.flush())
      return Error::plain("cannot write " + target + " (" + std::strerror(errno) + ")");
  }
  return {};
}

bool program_available(const std::string& program) {
  auto runs = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) return runs(program);
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (size_t start = 0;;) {
    const size_t end = dirs.find(':', start);
    const std::string d = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (runs((d.empty() ? "." : d) + "/" + program)) return true;
    if (end == std::string::npos) return false;
    start = end + 1;
  }
}

std::string missing_requirement(const std::vector<std::pair<std::string, std::string>>& required) {
  for (const auto& [program, package] : required)
    if (!program_available(program))
      return "needs " + program + (program.find('/') == std::string::npos ? " (not found on PATH)" : " (not there)") +
             ": apt-get install " + package;
  return "";
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
      return Error::plain("exited before listening on port " + std::to_string(port) + " (status " +
                          std::to_string(proc.exit_code()) + ")" + (err.empty() ? "" : "; its last stderr lines:\n" + err));
    if (monotonic_ns() >= until)
      return Error::plain("did not listen on port " + std::to_string(port) + " within " +
                          std::to_string(timeout_ns / 1000000000) + " s" +
                          (err.empty() ? "" : "; its last stderr lines:\n" + err));
    pollfd p{proc.pidfd(), POLLIN, 0};
    ::poll(&p, 1, 20);
  }
}

}  // namespace sockchaos::harness
