// Network namespaces held by file descriptors only: no bind-mounted name, so when the last
// holder (this fd, or a process inside) goes away, the namespace and everything in it
// (veths, routes, nftables tables, sockets) is gone. A crash leaves nothing behind.
//
// Threads, not processes, move between namespaces: ScopedNetns enters a namespace on the
// calling thread and restores the previous one on destruction. A netlink or nftables socket
// created while inside stays bound to that namespace for its whole life.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/fd.hpp"
#include "common/result.hpp"

namespace sockchaos::netns {

// The private TCP established hash of a namespace create() makes (the kernel's
// net.ipv4.tcp_child_ehash_entries, read from the namespace it is made from). Every inet_diag
// dump walks all of its buckets, however few sockets it holds: measured on this kind of
// machine, one census dump costs about 0.29 ms of kernel time at 32768 buckets, 0.04 ms at
// 1024, 2.3 ms with the host's shared 262144. The large size keeps the load factor under one
// with a whole ephemeral port range (28,232) of TIME_WAIT sockets, so lookups and the
// connect-time port search behave as on a host; the small one is for cells whose socket count
// is known to stay under half of it (harness::tcp_hash_buckets). Other sizes are rounded up
// to a power of two, as the kernel does. SOCKCHAOS_TCP_HASH=N (diagnosis) makes every cell
// namespace use N buckets; SOCKCHAOS_SHARED_EHASH=1 the host's shared table.
inline constexpr unsigned kTcpHashLarge = 32768;
inline constexpr unsigned kTcpHashSmall = 1024;

class NetNs {
 public:
  // A fresh network namespace with `lo` up. The calling thread never leaves its namespace.
  static Result<NetNs> create();
  // The same with this receive-steering mask for its devices (flow_steering_mask() above)
  // and a private TCP established hash of this many buckets (see kTcpHashLarge).
  static Result<NetNs> create(const std::string& steering_mask, unsigned tcp_hash_buckets = kTcpHashLarge);
  // The namespace the calling thread is in now (e.g. the initial one, for tests).
  static Result<NetNs> current();
  // A fresh namespace made from the calling thread's own, with nothing configured (lo stays
  // down, no inherited TCP limits) except these sysctls ("net.core.rps_default_mask"), written
  // from inside before anything else exists. For namespaces that run no TCP, like a link
  // emulator's wire: about half the cost of create().
  static Result<NetNs> create_bare(const std::vector<std::pair<std::string, std::string>>& sysctls);

  NetNs(NetNs&&) noexcept = default;
  NetNs& operator=(NetNs&&) noexcept = default;
  int fd() const { return fd_.get(); }
  // Inode number: identifies the namespace (same as `readlink /proc/PID/ns/net`).
  unsigned long inode() const;

 private:
  explicit NetNs(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

class ScopedNetns {
 public:
  static Result<ScopedNetns> enter(int netns_fd);
  ScopedNetns(ScopedNetns&& o) noexcept : saved_(std::move(o.saved_)) {}
  ScopedNetns& operator=(ScopedNetns&&) = delete;
  ScopedNetns(const ScopedNetns&) = delete;
  ~ScopedNetns();  // returns the thread to where it was; aborts if it cannot (never run
                   // the rest of the program in the wrong namespace)

 private:
  explicit ScopedNetns(Fd saved) : saved_(std::move(saved)) {}
  Fd saved_;
};

// Runs fn with the calling thread inside the namespace; returns fn's result.
template <class Fn>
auto within(int netns_fd, Fn&& fn) -> decltype(fn()) {
  auto scope = ScopedNetns::enter(netns_fd);
  if (!scope.ok()) return scope.error();
  return fn();
}

// sysctl inside a namespace: key "net.ipv4.tcp_retries2". Only keys visible in that
// namespace's /proc/sys/net (i.e. per network namespace) are accepted.
Status set_sysctl(const NetNs& ns, const std::string& key, const std::string& value);
Result<std::string> get_sysctl(const NetNs& ns, const std::string& key);
bool is_valid_sysctl_key(const std::string& key);

// The CPUs this process may run on, in the kernel's bitmap text ("3", "ff,ffffffff"): the
// net.core.rps_default_mask every namespace gets at creation. A veth hands each packet to the
// backlog of the CPU that sent it, so two segments of one flow sent from different CPUs (a
// delayed-ACK timer on one, close() on the other) can be received out of order; a wire or a
// NIC with RSS never does that. With receive packet steering on, each flow's packets are
// queued on one CPU chosen by the flow hash, in the order they were sent, and different flows
// still spread over all CPUs. Without it, a reordered ACK reaching a TIME_WAIT socket draws a
// duplicate ACK, the peer (already closed) answers with a RST, and the RST kills the
// TIME_WAIT (net.ipv4.tcp_rfc1337=0): flat-out probe loops lost up to 1% of their TIME_WAIT.
std::string flow_steering_mask();
// One CPU of those, in turn (a process-wide round robin): the mask a cell's namespaces share.
// Steering to one CPU keeps every flow in order by construction, as the full mask does, and it
// keeps a cell's receive work on one CPU instead of sending about half its packets to the
// other CPU's backlog with an IPI each (bench/RESULTS.md §7b: the bare loop at 1.07x plain
// veths with one CPU, 0.95x with all); different cells still spread over every CPU.
std::string next_cell_steering_mask();

}  // namespace sockchaos::netns

namespace sockchaos::netns {

// The kernel's timer frequency (CONFIG_HZ): from /proc/config.gz or /boot/config-<release>
// when present (parsed without a shell), else measured from the jiffies counter of
// /proc/timer_list over 100 ms (root only), else nullopt. Read once per process.
std::optional<int> kernel_hz();

// The values of `keys` (net.* sysctls) in a fresh network namespace: this kernel's defaults.
// Keys the kernel lacks are left out. Read once per process for a given key list.
std::map<std::string, std::string> fresh_namespace_sysctls(const std::vector<std::string>& keys);

}  // namespace sockchaos::netns
