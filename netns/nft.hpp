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
