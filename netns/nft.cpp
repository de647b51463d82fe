#include "netns/nft.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <thread>

namespace sockchaos::netns {
namespace {

// The reserve of low fds (see LowFdReservation): /dev/null placeholders below FD_SETSIZE. A
// context's socket replaces one atomically (dup3), so no other thread can take the slot.
struct LowFds {
  std::mutex mu;
  std::set<int> spare;  // placeholders, all below FD_SETSIZE
  int wanted = 0;       // the sum of live reservations

  // One more placeholder below FD_SETSIZE, if the lowest free fd is below it.
  bool add_one() {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    if (fd >= FD_SETSIZE) {
      ::close(fd);
      return false;
    }
    spare.insert(fd);
    return true;
  }
  void trim() {
    while (static_cast<int>(spare.size()) > wanted) {
      auto last = std::prev(spare.end());
      ::close(*last);
      spare.erase(last);
    }
  }
};

LowFds& low_fds() {
  static LowFds* pool = new LowFds;  // never destroyed: contexts may outlive static destruction
  return *pool;
}

bool is_netfilter_socket(int fd) {
  int domain = 0, protocol = 0;
  socklen_t len = sizeof(domain);
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return false;
  len = sizeof(protocol);
  if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) != 0) return false;
  return domain == AF_NETLINK && protocol == NETLINK_NETFILTER;
}

// One byte carrying one fd (SCM_RIGHTS) over a unix socket.
struct FdMessage {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  FdMessage() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
  }
  FdMessage(const FdMessage&) = delete;  // msg points into this object
  FdMessage& operator=(const FdMessage&) = delete;
};

bool send_fd(int sock, int fd) {
  FdMessage m;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return ::sendmsg(sock, &m.msg, MSG_NOSIGNAL) == 1;
}

int receive_fd(int sock) {
  FdMessage m;
  if (::recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

// nft_ctx_new inside `netns_fd` with its socket on fd `slot` of the process's table (where
// `slot` holds a placeholder). A helper thread takes a private copy of the fd table
// (unshare(CLONE_FILES)), where nothing else opens fds: with every fd below `slot` taken and
// `slot` closed, libnftables' socket lands on `slot`; the socket comes back over SCM_RIGHTS and
// dup3 puts it on `slot` of the shared table in place of the placeholder, in one step. The
// context (shared memory) then names the right fd in the process's own table.
// `slot_closed` says whether the placeholder on `slot` is gone (a failure after the helper).
Result<nft_ctx*> new_context_on(int netns_fd, int slot, bool& slot_closed) {
  slot_closed = false;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0) return Error::system("socketpair");
  Fd here(pair[0]), there(pair[1]);
  nft_ctx* made = nullptr;
  std::string failed;
  int failed_errno = 0;
  std::thread helper;
  try {
    helper = std::thread([&] {
      auto fail = [&](const char* what) {
        failed = what;
        failed_errno = errno;
      };
      if (::unshare(CLONE_FILES) != 0) return fail("unshare(CLONE_FILES)");
      if (::setns(netns_fd, CLONE_NEWNET) != 0) return fail("setns");
      ::close(slot);
      for (;;) {  // occupy every free fd below slot (in this private table only)
        const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return fail("open /dev/null");
        if (fd == slot) {
          ::close(fd);
          break;
        }
        if (fd > slot) return fail("fd table changed under the helper");
      }
      made = nft_ctx_new(NFT_CTX_DEFAULT);
      if (!made) return fail("nft_ctx_new");
      const bool landed = is_netfilter_socket(slot);
      if (!landed || !send_fd(there.get(), slot)) {
        fail(landed ? "sendmsg(SCM_RIGHTS)" : "libnftables opened its socket elsewhere");
        nft_ctx_free(made);  // here, in the private table: the shared placeholder stays
        made = nullptr;
      }
    });  // its private table, and with it its copies of every fd, go when it exits
  } catch (const std::system_error& e) {
    return Error::plain(std::string("nftables context: cannot start its helper thread: ") + e.what());
  }
  helper.join();
  if (!failed.empty()) return Error::system("nftables context: " + failed, failed_errno);
  const int received = receive_fd(here.get());
  const bool placed = received >= 0 && ::dup3(received, slot, O_CLOEXEC) == slot;
  const int e = errno;
  if (received >= 0) ::close(received);
  if (!placed) {
    nft_ctx_free(made);  // closes the placeholder on `slot`
    slot_closed = true;
    return Error::system(received < 0 ? "recvmsg(SCM_RIGHTS)" : "dup3", e);
  }
  return made;
}

}  // namespace

LowFdReservation::LowFdReservation(int slots) {
  LowFds& pool = low_fds();
  std::lock_guard<std::mutex> lock(pool.mu);
  const size_t before = pool.spare.size();
  pool.wanted += std::max(0, slots);
  while (static_cast<int>(pool.spare.size()) < pool.wanted && pool.add_one()) {
  }
  slots_ = static_cast<int>(pool.spare.size() - before);
  pool.wanted -= std::max(0, slots) - slots_;
}

LowFdReservation::~LowFdReservation() {
  LowFds& pool = low_fds();
  std::lock_guard<std::mutex> lock(pool.mu);
  pool.wanted -= slots_;
  pool.trim();
}

struct NftContext::Impl {
  nft_ctx* ctx = nullptr;
  ~Impl() {
    if (!ctx) return;
    LowFds& pool = low_fds();
    std::lock_guard<std::mutex> lock(pool.mu);
    nft_ctx_free(ctx);  // closes its socket: a low fd free again
    if (static_cast<int>(pool.spare.size()) < pool.wanted) pool.add_one();
  }
};

NftContext::NftContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NftContext::NftContext(NftContext&&) noexcept = default;
NftContext& NftContext::operator=(NftContext&&) noexcept = default;
NftContext::~NftContext() = default;

Result<NftContext> NftContext::open(const NetNs& ns) {
  auto impl = std::make_unique<Impl>();
  LowFds& pool = low_fds();
  std::unique_lock<std::mutex> lock(pool.mu);
  if (!pool.spare.empty()) {
    const int slot = *pool.spare.begin();
    bool slot_closed = false;
    auto made = new_context_on(ns.fd(), slot, slot_closed);
    if (!made.ok()) {
      if (slot_closed) pool.spare.erase(slot);
      return made.error();
    }
    pool.spare.erase(slot);
    impl->ctx = made.value();
  } else {
    // No reserve: in this thread, on the lowest free fd, as libnftables does by itself; refused
    // when that is at or above FD_SETSIZE (select() on it would abort the process).
    auto scope = ScopedNetns::enter(ns.fd());
    if (!scope.ok()) return scope.error();
    const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (probe < 0) return Error::system("open /dev/null");
    ::close(probe);
    if (probe >= FD_SETSIZE)
      return Error::plain(
          "nftables: every fd below 1024 is in use, and libnftables select()s on its socket; run fewer cells at "
          "once (-j)");
    impl->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!impl->ctx) return Error::plain("nft_ctx_new failed");
  }
  lock.unlock();
  nft_ctx_buffer_output(impl->ctx);
  nft_ctx_buffer_error(impl->ctx);
  return NftContext(std::move(impl));
}

Status NftContext::run(const std::string& commands) {
  int rc = nft_run_cmd_from_buffer(impl_->ctx, commands.c_str());
  if (rc != 0) {
    std::string err = nft_ctx_get_error_buffer(impl_->ctx);
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return Error::plain("nftables: " + err);
  }
  return {};
}

Result<std::string> NftContext::list_ruleset() {
  int rc = nft_run_cmd_from_buffer(impl_->ctx, "list ruleset");
  if (rc != 0) return Error::plain(std::string("nftables: ") + nft_ctx_get_error_buffer(impl_->ctx));
  return std::string(nft_ctx_get_output_buffer(impl_->ctx));
}

}  // namespace sockchaos::netns
