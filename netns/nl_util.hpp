// libnl helpers shared by the netns .cpp files (not part of the netns API): owners for libnl
// objects, and a libnl error as an Error with the errno a caller can branch on.
#pragma once
#include <cerrno>
#include <memory>
#include <string>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "common/result.hpp"

namespace sockchaos::netns::nl {

struct SockDel {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct LinkDel {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using SockPtr = std::unique_ptr<nl_sock, SockDel>;
using LinkPtr = std::unique_ptr<rtnl_link, LinkDel>;

inline Error error(const std::string& what, int nlerr) {
  // nl_geterror takes the positive code; keep errno-style err for callers that branch on it.
  int code = nlerr < 0 ? -nlerr : nlerr;
  int sys = 0;
  switch (code) {
    case NLE_PERM: sys = EPERM; break;
    case NLE_EXIST: sys = EEXIST; break;
    case NLE_NODEV: sys = ENODEV; break;
    case NLE_OBJ_NOTFOUND: sys = ENOENT; break;
    case NLE_OPNOTSUPP: sys = EOPNOTSUPP; break;
    case NLE_INVAL: sys = EINVAL; break;
    default: break;
  }
  return Error{what + ": " + nl_geterror(code), sys};
}

}  // namespace sockchaos::netns::nl
