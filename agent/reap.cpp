// sockchaos-agent reap ROOT: removes an orchestrator's scratch root once the orchestrator is
// gone (harness/world/scratch.hpp). stdin is the read end of a pipe whose only write end the
// orchestrator holds: read() returns 0 when it exits or is killed, however.
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <string>

#include "agent/agent.hpp"

namespace sockchaos::agent {

int run_reap(const std::string& root) {
  namespace fs = std::filesystem;
  // Only what it was made for: a scratch root (name and place checked), nothing else.
  const fs::path path(root);
  if (!path.is_absolute() || path.filename().string().rfind("sockchaos-run.", 0) != 0) return kExitFatal;
  ::close_range(3, ~0U, 0);  // descriptors a non-CLOEXEC parent left us hold nothing of ours
  char buf[64];
  for (;;) {
    const ssize_t n = ::read(0, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0 && errno != EINTR) break;
  }
  // The orchestrator's commands die with it (PDEATHSIG, PID namespaces) but may still be
  // writing for a moment: retried until the folder is gone, at most 2 s.
  for (int attempt = 0; attempt < 40; ++attempt) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (!fs::exists(fs::symlink_status(path, ec))) return kExitDone;
    const timespec ts{0, 50 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
  }
  return kExitError;
}

}  // namespace sockchaos::agent
