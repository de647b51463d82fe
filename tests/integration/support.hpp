// Helpers for the integration tests. They need what `sockchaos doctor` checks (namespaces,
// veth, nftables, inet_diag, sysctls, pidfd, the agent); where a check fails they skip and name
// what is missing and how to fix it. In CI everything is there, so they run.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "harness/world/doctor.hpp"
#include "harness/world/process.hpp"

namespace sockchaos::testing {

// The doctor's essential checks that fail here, "" when none: one probe per test binary.
inline const std::string& missing_features() {
  static const std::string missing = [] {
    std::string out;
    for (const auto& c : harness::run_doctor(harness::find_agent_path()))
      if (c.essential && !c.ok) out += (out.empty() ? "" : "; ") + c.name + ": " + c.detail + " (" + c.fix + ")";
    return out;
  }();
  return missing;
}

// A non-essential doctor check by the start of its name ("reject with tcp reset", ...).
inline std::string missing_feature(const std::string& name) {
  for (const auto& c : harness::run_doctor(harness::find_agent_path()))
    if (c.name.rfind(name, 0) == 0 && !c.ok) return c.name + ": " + c.detail + " (" + c.fix + ")";
  return "";
}

#define SKIP_UNLESS_ABLE()                                                               \
  do {                                                                                   \
    if (!sockchaos::testing::missing_features().empty())                                 \
      GTEST_SKIP() << "missing: " << sockchaos::testing::missing_features();             \
  } while (0)

// Runs a command through /bin/sh (tests only: oracles like ss, ip, nft) and returns stdout.
inline std::string sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = ::pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// A temporary folder that is removed with everything in it when the object goes (a path, so
// `dir / "x.json"` works). Tests leave no /tmp/sockchaos-* folder behind.
class TempDir : public std::filesystem::path {
 public:
  explicit TempDir(std::filesystem::path p) : std::filesystem::path(std::move(p)) {}
  TempDir(TempDir&& other) noexcept : std::filesystem::path(std::move(other)) { other.clear(); }
  TempDir& operator=(TempDir&& other) noexcept {
    remove();
    std::filesystem::path::operator=(std::move(other));
    other.clear();
    return *this;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { remove(); }

 private:
  void remove() {
    if (empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(*this, ec);
  }
};

inline TempDir make_temp_dir(const std::string& tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() / ("sockchaos-" + tag + "-XXXXXX")).string();
  char* p = ::mkdtemp(tmpl.data());
  return TempDir(p ? std::filesystem::path(p) : std::filesystem::path());
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The initial namespace's state that the product must never change.
struct HostNetworkSnapshot {
  std::string links, ruleset, netns_names;
  static HostNetworkSnapshot take() {
    return {sh("ip -o link show | awk -F': ' '{print $2}' | sort"), sh("nft list ruleset 2>/dev/null"),
            sh("ip netns list 2>/dev/null")};
  }
};

}  // namespace sockchaos::testing
