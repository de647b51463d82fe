// The user's commands in a scenario: placeholders, programs, config templates and the programs
// a scenario requires. Checked when the file is loaded, so a typo is exit 2 before any cell
// runs; a program that is missing but listed in "requires" is left to the run (the cell is
// skipped, naming the Debian package).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/model/pointer.hpp"

namespace sockchaos::harness {
namespace {

constexpr size_t kMaxTemplateBytes = 1 << 20;

bool valid_file_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

bool valid_package_name(const std::string& name) {
  // Debian policy 5.6.1: lowercase letters, digits, + - . ; at least two, starting alphanumeric.
  if (name.size() < 2 || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
  });
}

// {dir} expanded, other placeholders refused; "" with `why` when it cannot be.
std::string expand_dir_only(const std::string& text, const std::string& dir, std::string& why) {
  auto r = substitute_placeholders(text, [&](const PlaceholderRef& ref, std::string& w) -> std::optional<std::string> {
    if (ref.name == "dir" && !ref.has_arg) return dir;
    w = "only {dir} can be used here";
    return std::nullopt;
  });
  if (!r.ok()) {
    why = r.error().message;
    return "";
  }
  return r.value();
}

// A program as execvp would find it, or "" when it is not there / not executable (`why`).
bool program_runs(const std::string& program, std::string& why) {
  if (program.find('/') != std::string::npos) {
    struct stat st {};
    if (::stat(program.c_str(), &st) != 0) {
      why = "no such file: " + program;
      return false;
    }
    if (S_ISDIR(st.st_mode) || ::access(program.c_str(), X_OK) != 0) {
      why = program + " is not executable";
      return false;
    }
    return true;
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string d;
  while (std::getline(dirs, d, ':')) {
    const std::string candidate = (d.empty() ? "." : d) + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) return true;
  }
  why = "command not found on PATH: " + program;
  return false;
}

struct Role {
  std::string argv_pointer, files_pointer;
  const std::vector<std::string>* argv;
  const std::vector<std::pair<std::string, std::string>>* files;
};

}  // namespace

std::string scenario_dir_of(const std::string& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (file.empty() || file.front() == '<') return fs::current_path(ec).string();
  fs::path abs = fs::absolute(fs::path(file), ec);
  if (ec) return fs::current_path(ec).string();
  return abs.lexically_normal().parent_path().string();
}

std::vector<std::pair<std::string, std::string>> parse_command_files(const json& v, const std::string& p,
                                                                     const std::string& file,
                                                                     std::vector<InputIssue>& issues) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!v.is_object() || v.empty()) {
    issues.push_back({file, p, 0,
                      "expected an object of file name in {tmp} -> template path, e.g. {\"nginx.conf\": "
                      "\"{dir}/nginx.conf.in\"}; got " + (v.is_object() ? std::string("an empty object") : describe_json(v))});
    return out;
  }
  for (const auto& [name, source] : v.items()) {
    const std::string np = child(p, name);
    if (!valid_file_name(name)) {
      issues.push_back({file, np, 0,
                        "expected a plain file name (letters, digits, '.', '_', '-'; not starting with '.') for the "
                        "rendered file in {tmp}; got \"" + name + "\""});
      continue;
    }
    if (!source.is_string() || source.get<std::string>().empty()) {
      issues.push_back({file, np, 0, "expected the template's path as a string, e.g. \"{dir}/" + name + ".in\"; got " +
                                         describe_json(source)});
      continue;
    }
    out.emplace_back(name, source.get<std::string>());
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_required_programs(const json& v, const std::string& p,
                                                                         const std::string& file,
                                                                         std::vector<InputIssue>& issues) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!v.is_object()) {
    issues.push_back({file, p, 0,
                      "expected an object of program -> Debian package, e.g. {\"nginx\": \"nginx-light\"}; got " +
                          describe_json(v)});
    return out;
  }
  for (const auto& [program, package] : v.items()) {
    const std::string pp = child(p, program);
    const bool path_ok = !program.empty() && (program.front() == '/' || program.find('/') == std::string::npos);
    if (!path_ok) {
      issues.push_back({file, pp, 0, "expected a program name as found on PATH (\"nginx\") or an absolute path; got \"" +
                                         program + "\""});
      continue;
    }
    if (!package.is_string() || !valid_package_name(package.get<std::string>())) {
      issues.push_back({file, pp, 0, "expected the Debian package that provides " + program + " (e.g. \"nginx-light\"); got " +
                                         describe_json(package)});
      continue;
    }
    out.emplace_back(program, package.get<std::string>());
  }
  return out;
}

std::optional<TcpFlagMatch> parse_tcp_flag_match(const json& v, const std::string& p, const std::string& file,
                                                 std::vector<InputIssue>& issues) {
  static const std::pair<const char*, uint8_t> kFlags[] = {{"fin", 0x01}, {"syn", 0x02}, {"rst", 0x04}, {"psh", 0x08},
                                                           {"ack", 0x10}, {"urg", 0x20}, {"ece", 0x40}, {"cwr", 0x80}};
  const std::string names = "fin, syn, rst, psh, ack, urg, ece, cwr";
  const size_t before = issues.size();
  for (const auto& [key, value] : v.items())
    if (key != "mask" && key != "value")
      issues.push_back({file, child(p, key), 0,
                        std::string(kUnknownKeyPrefix) + key + "\" in tcp_flags; expected one of: mask, value"});
  auto bits = [&](const char* key) -> std::optional<uint8_t> {
    const std::string kp = child(p, key);
    if (!v.contains(key)) {
      issues.push_back({file, p, 0,
                        std::string("expected a \"") + key + "\" key: tcp_flags as {\"mask\": [\"syn\", \"ack\", \"fin\", "
                        "\"rst\", \"psh\"], \"value\": [\"ack\"]} (the packet's flags & mask == value)"});
      return std::nullopt;
    }
    const json& list = v[key];
    if (!list.is_array()) {
      issues.push_back({file, kp, 0, "expected a list of TCP flag names (" + names + "); got " + describe_json(list)});
      return std::nullopt;
    }
    uint8_t out = 0;
    bool ok = true;
    for (size_t i = 0; i < list.size(); ++i) {
      const json& f = list[i];
      auto it = std::find_if(std::begin(kFlags), std::end(kFlags),
                             [&](const auto& e) { return f.is_string() && f.get<std::string>() == e.first; });
      if (it == std::end(kFlags)) {
        issues.push_back({file, kp + "/" + std::to_string(i), 0, "expected a TCP flag name (" + names + "); got " +
                                                                     describe_json(f)});
        ok = false;
        continue;
      }
      if (out & it->second) {
        issues.push_back({file, kp + "/" + std::to_string(i), 0, std::string("\"") + it->first + "\" is listed twice"});
        ok = false;
      }
      out |= it->second;
    }
    if (!ok) return std::nullopt;
    return out;
  };
  if (!v.is_object()) return std::nullopt;
  auto mask = bits("mask");
  auto value = bits("value");
  if (issues.size() != before || !mask || !value) return std::nullopt;
  if (*mask == 0) {
    issues.push_back({file, child(p, "mask"), 0, "expected at least one flag in mask (an empty mask matches every packet: "
                                                 "leave tcp_flags out instead)"});
    return std::nullopt;
  }
  if ((*value & ~*mask) != 0) {
    issues.push_back({file, child(p, "value"), 0,
                      "expected value's flags to be in mask too (a flag outside the mask is never compared)"});
    return std::nullopt;
  }
  return TcpFlagMatch{*mask, *value};
}

void validate_commands(const json& value, const Scenario& s, const std::vector<std::string>& hosts,
                       std::vector<InputIssue>& issues) {
  (void)value;
  const std::string& file = s.file;
  std::vector<Role> roles;
  if (s.server.behavior == ServerBehavior::command)
    roles.push_back({"/server/command", "/server/files", &s.server.command, &s.server.files});
  if (s.upstream_server && s.upstream_server->behavior == ServerBehavior::command)
    roles.push_back({"/upstream_server/command", "/upstream_server/files", &s.upstream_server->command,
                     &s.upstream_server->files});
  if (s.client.workload.kind == WorkloadKind::command)
    roles.push_back({"/client/workload/command", "/client/files", &s.client.workload.command, &s.client.files});
  std::vector<std::string> rendered;  // file names in {tmp}: one namespace for every role
  for (const Role& role : roles) {
    for (size_t i = 0; i < role.argv->size(); ++i) {
      const std::string& arg = (*role.argv)[i];
      for (const auto& ref : find_placeholders(arg)) {
        const std::string problem = placeholder_problem(ref, hosts, s.family != IpFamily::ipv4);
        if (!problem.empty()) issues.push_back({file, role.argv_pointer + "/" + std::to_string(i), 0, problem});
      }
    }
    if (!role.argv->empty()) {
      const std::string& program = role.argv->front();
      const auto refs = find_placeholders(program);
      const bool only_dir = std::all_of(refs.begin(), refs.end(), [](const auto& r) { return r.name == "dir"; });
      const bool relative_path = program.find('/') != std::string::npos && program.front() != '/' &&
                                 program.rfind("{dir}", 0) != 0;  // relative to {tmp}: known only at run time
      std::string why;
      const std::string expanded = only_dir ? expand_dir_only(program, s.dir, why) : "";
      const bool listed = std::any_of(s.required_programs.begin(), s.required_programs.end(),
                                      [&](const auto& r) { return r.first == program || r.first == expanded; });
      if (only_dir && !relative_path && !listed && !expanded.empty() && !program_runs(expanded, why))
        issues.push_back({file, role.argv_pointer + "/0", 0,
                          why + " — install it, or list it in \"requires\" (e.g. {\"" + program +
                              "\": \"<debian-package>\"}) so that a machine without it skips the cell"});
    }
    for (const auto& [name, source] : *role.files) {
      const std::string fp = child(role.files_pointer, name);
      if (std::find(rendered.begin(), rendered.end(), name) != rendered.end()) {
        issues.push_back({file, fp, 0, "\"" + name + "\" is already rendered into {tmp} by another role; every role "
                                       "shares {tmp}, so give it another name"});
        continue;
      }
      rendered.push_back(name);
      std::string why;
      std::string path = expand_dir_only(source, s.dir, why);
      if (path.empty()) {
        issues.push_back({file, fp, 0, "template path \"" + source + "\": " + why});
        continue;
      }
      if (path.front() != '/') path = s.dir + "/" + path;  // relative to the scenario's folder
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        issues.push_back({file, fp, 0, "cannot read the template " + path + " (" + std::strerror(errno) + ")"});
        continue;
      }
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.size() > kMaxTemplateBytes) {
        issues.push_back({file, fp, 0, "the template " + path + " is larger than 1 MiB"});
        continue;
      }
      for (const auto& ref : find_placeholders(text)) {
        const std::string problem = placeholder_problem(ref, hosts, s.family != IpFamily::ipv4);
        if (!problem.empty())
          issues.push_back({path, fp, ref.line, problem + " (in the template of " + fp + " of " + file + ")"});
      }
    }
  }
}

}  // namespace sockchaos::harness
