#include "netns/nft.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <set>

namespace sockchaos::netns {
namespace {

// The reserve of low fds (see LowFdReservation). One lock serialises every context's creation
// and release, so no two contexts race for a slot; other threads may still take a freed slot
// in the instant before nft_ctx_new, which open() detects and retries.
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
  auto scope = ScopedNetns::enter(ns.fd());
  if (!scope.ok()) return scope.error();
  auto impl = std::make_unique<Impl>();
  {
    LowFds& pool = low_fds();
    std::lock_guard<std::mutex> lock(pool.mu);
    for (int attempt = 0; attempt < 16 && !impl->ctx; ++attempt) {
      // The fd libnftables will open its socket on: a reserved one, freed now, or else the
      // lowest free fd.
      int slot;
      if (!pool.spare.empty()) {
        slot = *pool.spare.begin();
        pool.spare.erase(pool.spare.begin());
      } else {
        slot = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (slot < 0) return Error::system("open /dev/null");
      }
      ::close(slot);
      if (slot >= FD_SETSIZE)
        return Error::plain(
            "nftables: every fd below 1024 is in use, and libnftables select()s on its socket; run fewer cells at "
            "once (-j)");
      nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
      if (!ctx) return Error::plain("nft_ctx_new failed");
      if (is_netfilter_socket(slot)) {
        impl->ctx = ctx;
        break;
      }
      // Another thread took the slot in the instant it was free: try the next one.
      nft_ctx_free(ctx);
    }
  }
  if (!impl->ctx) return Error::plain("nftables: no fd below 1024 stayed free for the context's socket; run fewer cells at once (-j)");
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
