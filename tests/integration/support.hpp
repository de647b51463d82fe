// Helpers for the integration tests: they need root (CAP_NET_ADMIN); without it they skip
// with the reason. In CI we are root, so they run.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#define SKIP_UNLESS_ROOT()                                                         \
  do {                                                                             \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)"; \
  } while (0)

namespace sockchaos::testing {

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

inline std::filesystem::path make_temp_dir(const std::string& tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() / ("sockchaos-" + tag + "-XXXXXX")).string();
  char* p = ::mkdtemp(tmpl.data());
  return p ? std::filesystem::path(p) : std::filesystem::path();
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
