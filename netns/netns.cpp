#include "netns/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "netns/link.hpp"

namespace sockchaos::netns {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

static Result<Fd> open_thread_netns() {
  int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::system("open /proc/thread-self/ns/net");
  return Fd(fd);
}

Result<NetNs> NetNs::create() {
  // unshare() in a short-lived thread: the new namespace is reachable only through the fd
  // the thread opens, and the caller's thread is never moved.
  Result<Fd> made = Error::plain("not run");
  std::thread worker([&made] {
    if (::unshare(CLONE_NEWNET) != 0) {
      made = Error::system("unshare(CLONE_NEWNET)");
      return;
    }
    made = open_thread_netns();
  });
  worker.join();
  if (!made.ok()) return made.error();
  NetNs ns(std::move(made.value()));
  auto up = set_link_up(ns, "lo", true);
  if (!up.ok()) return Error{"bring lo up: " + up.error().message, up.error().err};
  return ns;
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
