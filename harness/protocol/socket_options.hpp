// Scenario socket options -> the setsockopt calls that realise them, applied through a seam
// so unit tests can assert "IPPROTO_TCP/TCP_KEEPIDLE set to 7" with no socket and no root
// (the Envoy socket_option_test.h pattern).
#pragma once
#include <sys/socket.h>

#include <string>
#include <vector>

#include "common/result.hpp"
#include "harness/model/types.hpp"

namespace sockchaos::harness {

struct PlannedOption {
  int level = 0;
  int name = 0;
  std::vector<unsigned char> value;  // exactly the bytes passed to setsockopt
  std::string label;                 // "IPPROTO_TCP/TCP_KEEPIDLE=7", "raw 6/18=10000"
};

// In a stable order: SO_KEEPALIVE before TCP_KEEP*, raw options last (they override).
std::vector<PlannedOption> plan_socket_options(const SocketOptions& options);

struct SysResult {
  int rc = 0;
  int err = 0;  // errno when rc < 0
};

class SocketSyscalls {
 public:
  virtual ~SocketSyscalls() = default;
  virtual SysResult setsockopt(int fd, int level, int name, const void* value, socklen_t len) = 0;
};

// The real thing.
class KernelSocketSyscalls final : public SocketSyscalls {
 public:
  SysResult setsockopt(int fd, int level, int name, const void* value, socklen_t len) override;
  static KernelSocketSyscalls& instance();
};

// Applies every planned option; the first one the kernel rejects is an Error naming it:
// "setsockopt IPPROTO_TCP/TCP_USER_TIMEOUT=-1 (Invalid argument)".
Status apply_socket_options(SocketSyscalls& sys, int fd, const std::vector<PlannedOption>& plan);

}  // namespace sockchaos::harness
