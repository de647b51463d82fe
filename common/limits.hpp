// Process limits every sockchaos process sets for itself.
#pragma once
#include <sys/resource.h>

namespace sockchaos {

// Raises the soft open-file limit to the hard one (often 1024 → 524288). A server holding
// 20,000 CLOSE_WAIT sockets, or an orchestrator running 64 cells with their pipes, netlink
// sockets and namespace fds, needs more than the 1024 many shells start with. Best effort:
// the hard limit is never raised.
inline void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace sockchaos
