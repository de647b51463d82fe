// What the machine cannot do, as an exception with advice: exit code 3 in the CLI,
// sockchaos.SockchaosEnvironmentError in Python.
#pragma once
#include <stdexcept>
#include <string>

#include "common/result.hpp"

namespace sockchaos::harness {

// Thrown when the environment cannot run cells at all (no privilege, missing kernel
// feature): exit code 3 with `advice`.
class EnvironmentError : public std::runtime_error {
 public:
  EnvironmentError(const std::string& what, std::string advice)
      : std::runtime_error(what), advice_(std::move(advice)) {}
  const std::string& advice() const { return advice_; }

 private:
  std::string advice_;
};

// The advice for a missing privilege (EPERM / EACCES building namespaces, links or rules).
inline constexpr const char* kPrivilegeAdvice =
    "run as root, or with CAP_NET_ADMIN and CAP_SYS_ADMIN (e.g. sudo sockchaos ..., or unshare -Urn for a user "
    "namespace); `sockchaos doctor` checks every requirement";

// True when an error means "not allowed here" rather than "went wrong".
inline bool is_privilege_error(const Error& e) { return e.err == EPERM || e.err == EACCES; }

}  // namespace sockchaos::harness
