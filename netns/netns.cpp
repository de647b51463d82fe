#include "netns/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/utsname.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <algorithm>
#include <bit>
#include <sstream>
#include <cstdlib>
#include <cstdint>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "netns/link.hpp"

namespace sockchaos::netns {

static Result<Fd> open_thread_netns() {
  int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::system("open /proc/thread-self/ns/net");
  return Fd(fd);
}

namespace {
// Namespaces made from the initial one share the host's TCP established hash (262,144
// buckets on this kind of machine), and every inet_diag dump walks all of it however few
// sockets the namespace holds: sampling 64 cells ten times a second then costs a third of a
// core. Cell namespaces are therefore made from a parent namespace of our own (held by fd for
// the life of the process, nothing in it) whose net.ipv4.tcp_child_ehash_entries gives each
// child a private hash of the size asked for (kTcpHashLarge, kTcpHashSmall: netns.hpp): one
// parent per size, made on first use. Kernels before 6.1 lack the sysctl: then the shared hash
// is used.
int make_parent_netns(unsigned buckets) {
  int made = -1;
  std::thread worker([&made, buckets] {
    if (::unshare(CLONE_NEWNET) != 0) return;
    int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const std::string text = std::to_string(buckets);
    int sys = ::open("/proc/sys/net/ipv4/tcp_child_ehash_entries", O_WRONLY | O_CLOEXEC);
    bool ok = sys >= 0 && ::write(sys, text.data(), text.size()) > 0;
    if (sys >= 0) ::close(sys);
    if (ok) made = fd;
    else ::close(fd);
  });
  worker.join();
  return made;
}

constexpr unsigned kMaxBuckets = 1u << 24;

int parent_netns_fd(unsigned buckets) {
  static const bool shared = [] {
    const char* e = std::getenv("SOCKCHAOS_SHARED_EHASH");
    return e && *e == '1';
  }();
  static const unsigned forced = [] {
    const char* e = std::getenv("SOCKCHAOS_TCP_HASH");
    const unsigned long n = e ? std::strtoul(e, nullptr, 10) : 0;
    return static_cast<unsigned>(std::min<unsigned long>(n, kMaxBuckets));
  }();
  if (shared) return -1;
  // A power of two, as the kernel rounds it (at most its own limit for the sysctl, 16 Mi).
  buckets = std::bit_ceil(std::clamp(forced ? forced : buckets, 1u, kMaxBuckets));
  static std::mutex mutex;
  static std::map<unsigned, int> parents;  // held for the life of the process
  std::lock_guard<std::mutex> lock(mutex);
  auto it = parents.find(buckets);
  if (it == parents.end()) it = parents.emplace(buckets, make_parent_netns(buckets)).first;
  return it->second;
}
}  // namespace

namespace {
// The values of the namespace we run in that every cell namespace inherits (see create()).
const std::vector<std::pair<std::string, std::string>>& inherited_tcp_limits() {
  static const auto inherited = [] {
    std::vector<std::pair<std::string, std::string>> v;
    for (const char* key : {"net/ipv4/tcp_max_tw_buckets", "net/ipv4/tcp_max_syn_backlog"}) {
      int fd = ::open((std::string("/proc/sys/") + key).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      char buf[64];
      ssize_t n = ::read(fd, buf, sizeof buf - 1);
      ::close(fd);
      if (n > 0) {
        std::string text(buf, static_cast<size_t>(n));
        v.emplace_back(std::string("/proc/sys/") + key, text.substr(0, text.find('\n')) + "\n");
      }
    }
    return v;
  }();
  return inherited;
}

// Best effort, from a thread inside the namespace: /proc/sys/net resolves to the namespace of
// the thread that opens it.
void write_own_sysctl(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}
}  // namespace

Result<NetNs> NetNs::create() { return create(flow_steering_mask()); }

Result<NetNs> NetNs::create(const std::string& steering_mask, unsigned tcp_hash_buckets) {
  // unshare() in a short-lived thread: the new namespace is reachable only through the fd
  // the thread opens, and the caller's thread is never moved. The thread configures the
  // namespace from inside before it ends (no setns round trips):
  //  - The kernel derives two per-namespace defaults from the size of the namespace's own TCP
  //    hash (tcp_max_tw_buckets = buckets / 2, tcp_max_syn_backlog = buckets / 128). With the
  //    small private hash they would be far below the host's, and a run past 16,384 TIME_WAIT
  //    would see them destroyed at once: give every cell the values of the namespace we run in
  //    (read only; scenario sysctls still override them).
  //  - Receive packet steering for every device made in the namespace from now on (the veths):
  //    see flow_steering_mask(). A kernel without the per-namespace key keeps veth's default.
  //  - lo up (SIOCSIFFLAGS: dev_change_flags, as an RTM_NEWLINK flag change does).
  Result<Fd> made = Error::plain("not run");
  const int parent = parent_netns_fd(tcp_hash_buckets);
  const auto& inherited = inherited_tcp_limits();
  const std::string mask = steering_mask + "\n";
  std::thread worker([&made, parent, &inherited, &mask] {
    if (parent >= 0 && ::setns(parent, CLONE_NEWNET) != 0) {
      made = Error::system("setns(parent namespace)");
      return;
    }
    if (::unshare(CLONE_NEWNET) != 0) {
      made = Error::system("unshare(CLONE_NEWNET)");
      return;
    }
    if (parent >= 0)
      for (const auto& [path, text] : inherited) write_own_sysctl(path, text);
    write_own_sysctl("/proc/sys/net/core/rps_default_mask", mask);
    Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (sock.get() < 0) {
      made = Error::system("bring lo up: socket");
      return;
    }
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) {
      made = Error::system("bring lo up: SIOCGIFFLAGS");
      return;
    }
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) {
      made = Error::system("bring lo up: SIOCSIFFLAGS");
      return;
    }
    made = open_thread_netns();
  });
  worker.join();
  if (!made.ok()) return made.error();
  return NetNs(std::move(made.value()));
}

namespace {
// The CPUs this process may run on; false when none can be read.
bool allowed_cpus(cpu_set_t& set) {
  CPU_ZERO(&set);
  return ::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0;
}

// The kernel's bitmap text of a CPU set: 32-bit groups in hex, most significant first,
// comma-separated.
std::string bitmap_text(const cpu_set_t& set) {
  int highest = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) highest = cpu;
  std::string text;
  for (int group = highest / 32; group >= 0; --group) {
    uint32_t bits = 0;
    for (int b = 0; b < 32; ++b)
      if (CPU_ISSET(group * 32 + b, &set)) bits |= 1u << b;
    char chunk[16];
    std::snprintf(chunk, sizeof chunk, text.empty() ? "%x" : "%08x", bits);
    if (!text.empty()) text += ',';
    text += chunk;
  }
  return text;
}
}  // namespace

std::string next_cell_steering_mask() {
  static std::atomic<unsigned> turn{0};
  cpu_set_t set;
  if (!allowed_cpus(set)) return "1";
  int pick = static_cast<int>(turn.fetch_add(1, std::memory_order_relaxed) % static_cast<unsigned>(CPU_COUNT(&set)));
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set) && pick-- == 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      return bitmap_text(one);
    }
  return "1";
}

std::string flow_steering_mask() {
  cpu_set_t set;
  return allowed_cpus(set) ? bitmap_text(set) : "1";
}

Result<NetNs> NetNs::create_bare(const std::vector<std::pair<std::string, std::string>>& sysctls) {
  for (const auto& [key, value] : sysctls)
    if (!is_valid_sysctl_key(key)) return Error::plain("sysctl " + key + ": only net.* keys are accepted");
  Result<Fd> made = Error::plain("not run");
  std::thread worker([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      made = Error::system("unshare(CLONE_NEWNET)");
      return;
    }
    for (const auto& [key, value] : sysctls) {
      std::string path = "/proc/sys/";
      for (char c : key) path += (c == '.') ? '/' : c;
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) continue;  // a kernel without the key keeps its default, as in create()
      std::string text = value + "\n";
      bool ok = ::write(fd, text.data(), text.size()) >= 0;
      int err = errno;
      ::close(fd);
      if (!ok) {
        made = Error::system("sysctl " + key + "=" + value, err);
        return;
      }
    }
    made = open_thread_netns();
  });
  worker.join();
  if (!made.ok()) return made.error();
  return NetNs(std::move(made.value()));
}

Result<NetNs> NetNs::current() {
  auto fd = open_thread_netns();
  if (!fd.ok()) return fd.error();
  return NetNs(std::move(fd.value()));
}

unsigned long NetNs::inode() const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return 0;
  return st.st_ino;
}

Result<ScopedNetns> ScopedNetns::enter(int netns_fd) {
  auto saved = open_thread_netns();
  if (!saved.ok()) return saved.error();
  if (::setns(netns_fd, CLONE_NEWNET) != 0) return Error::system("setns(CLONE_NEWNET)");
  return ScopedNetns(std::move(saved.value()));
}

ScopedNetns::~ScopedNetns() {
  if (!saved_.valid()) return;
  if (::setns(saved_.get(), CLONE_NEWNET) != 0) {
    std::perror("sockchaos: cannot return the thread to its network namespace");
    std::abort();
  }
}

bool is_valid_sysctl_key(const std::string& key) {
  if (key.rfind("net.", 0) != 0 || key.size() > 200) return false;
  char prev = '.';
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.' || (c >= 'A' && c <= 'Z');
    if (!ok) return false;
    if (c == '.' && prev == '.') return false;
    prev = c;
  }
  return prev != '.';
}

static std::string sysctl_path(const std::string& key) {
  std::string path = "/proc/sys/";
  for (char c : key) path += (c == '.') ? '/' : c;
  return path;
}

Status set_sysctl(const NetNs& ns, const std::string& key, const std::string& value) {
  if (!is_valid_sysctl_key(key))
    return Error::plain("sysctl " + key + ": only net.* keys are accepted");
  auto scope = ScopedNetns::enter(ns.fd());
  if (!scope.ok()) return scope.error();
  std::string path = sysctl_path(key);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return Error{"sysctl " + key + " is not a per-network-namespace setting on this kernel",
                   errno};
    return Error::system("sysctl " + key + ": open " + path);
  }
  Fd guard(fd);
  std::string text = value + "\n";
  ssize_t n = ::write(fd, text.data(), text.size());
  if (n < 0) return Error::system("sysctl " + key + "=" + value);
  return {};
}

Result<std::string> get_sysctl(const NetNs& ns, const std::string& key) {
  if (!is_valid_sysctl_key(key)) return Error::plain("sysctl " + key + ": not a net.* key");
  auto scope = ScopedNetns::enter(ns.fd());
  if (!scope.ok()) return scope.error();
  int fd = ::open(sysctl_path(key).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::system("sysctl " + key);
  Fd guard(fd);
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  if (n < 0) return Error::system("read sysctl " + key);
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (auto& c : s)
    if (c == '\t') c = ' ';
  return s;
}

}  // namespace sockchaos::netns

namespace sockchaos::netns {
namespace {

std::optional<int> hz_from_config(const std::string& text) {
  const std::string key = "\nCONFIG_HZ=";
  auto at = ("\n" + text).find(key);
  if (at == std::string::npos) return std::nullopt;
  try {
    return std::stoi(text.substr(at + key.size() - 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string gunzip_file(const std::string& path) {
  std::string out;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return out;
  char buf[16384];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

std::optional<int64_t> read_jiffies() {
  std::ifstream in("/proc/timer_list");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("jiffies: ", 0) == 0) return std::stoll(line.substr(9));
  return std::nullopt;
}

}  // namespace

std::optional<int> kernel_hz() {
  static const std::optional<int> hz = []() -> std::optional<int> {
    if (auto hz = hz_from_config(gunzip_file("/proc/config.gz"))) return hz;
    utsname u{};
    if (::uname(&u) == 0) {
      std::ifstream in(std::string("/boot/config-") + u.release);
      std::stringstream text;
      text << in.rdbuf();
      if (auto hz = hz_from_config(text.str())) return hz;
    }
    const auto a = read_jiffies();
    if (!a) return std::nullopt;
    const int64_t t0 = monotonic_ns();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto b = read_jiffies();
    const double seconds = static_cast<double>(monotonic_ns() - t0) / 1e9;
    if (!b || seconds <= 0) return std::nullopt;
    const double rate = static_cast<double>(*b - *a) / seconds;
    int best = 0;
    for (int candidate : {100, 250, 300, 1000})
      if (best == 0 || std::abs(rate - candidate) < std::abs(rate - best)) best = candidate;
    return best;
  }();
  return hz;
}

std::map<std::string, std::string> fresh_namespace_sysctls(const std::vector<std::string>& keys) {
  static std::mutex mutex;
  static std::map<std::vector<std::string>, std::map<std::string, std::string>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(keys);
  if (it != cache.end()) return it->second;
  std::map<std::string, std::string> out;
  if (auto ns = NetNs::create(); ns.ok())
    for (const auto& key : keys)
      if (auto v = get_sysctl(*ns, key); v.ok()) {
        std::string value = *v;
        while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
        out[key] = value;
      }
  cache[keys] = out;
  return out;
}

}  // namespace sockchaos::netns
