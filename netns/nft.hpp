// An nftables context bound to one network namespace, through libnftables (never the nft
// program). The context is created while the calling thread is inside that namespace: it binds
// its netlink socket at creation, so one made elsewhere would write to the wrong ruleset (the
// host's). No libnftables type leaves this file's .cpp.
#pragma once
#include <memory>
#include <string>

#include "common/result.hpp"
#include "netns/netns.hpp"

namespace sockchaos::netns {

// libnftables waits for netlink replies with select() (mnl_batch_talk), and glibc aborts the
// process when an fd_set bit at or above FD_SETSIZE (1024) is set: a context's socket must get
// an fd below 1024 however many fds the process holds. While a LowFdReservation lives, the
// process holds up to `slots` fds below FD_SETSIZE for contexts (as /dev/null placeholders,
// close-on-exec). NftContext::open makes the context in a helper thread with a private copy of
// the fd table, where its socket lands on a reserved number, and dup3 then puts the socket on
// that number in the process's table in place of the placeholder, so no other thread can take
// the slot; a freed context's fd goes back to the reserve. Reservations add up; without one,
// open() takes the lowest free fd as libnftables does and fails cleanly (no abort) when that is
// at or above 1024.
class LowFdReservation {
 public:
  explicit LowFdReservation(int slots);
  ~LowFdReservation();
  LowFdReservation(const LowFdReservation&) = delete;
  LowFdReservation& operator=(const LowFdReservation&) = delete;
  int slots() const { return slots_; }  // how many it reserved (fewer when low fds ran out)

 private:
  int slots_ = 0;
};

class NftContext {
 public:
  static Result<NftContext> open(const NetNs& ns);
  NftContext(NftContext&&) noexcept;
  NftContext& operator=(NftContext&&) noexcept;
  ~NftContext();
  Status run(const std::string& commands);
  Result<std::string> list_ruleset();

 private:
  struct Impl;
  explicit NftContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sockchaos::netns
