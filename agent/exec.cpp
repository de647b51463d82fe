// `sockchaos-agent exec -- ARGV...`: runs a user's command as PID 1 of a new PID namespace.
// When this wrapper dies (with the orchestrator, through PDEATHSIG), the command gets SIGKILL
// through its own PDEATHSIG, and when PID 1 of a PID namespace dies the kernel kills every
// process left in it: a daemon's forked workers cannot outlive the run and keep a scenario's
// network namespace alive. The wrapper exits with the command's status (128+N for signal N).
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "agent/agent.hpp"

namespace sockchaos::agent {

int run_exec(int argc, char** argv) {
  if (argc < 1) {
    std::fprintf(stderr, "sockchaos-agent exec: no command\n");
    return 2;
  }
  if (::unshare(CLONE_NEWPID) != 0) {
    std::fprintf(stderr, "sockchaos-agent exec: unshare(CLONE_NEWPID): %s\n", std::strerror(errno));
    return 2;
  }
  pid_t child = ::fork();
  if (child < 0) {
    std::fprintf(stderr, "sockchaos-agent exec: fork: %s\n", std::strerror(errno));
    return 2;
  }
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(argv[0], argv);
    std::fprintf(stderr, "sockchaos-agent exec: %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  // Forward the signals a user may send to the run; SIGSTOP/SIGCONT/SIGKILL reach the
  // whole process group directly.
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(child, &status, 0);
    if (r == child) break;
    if (r < 0 && errno != EINTR) return 2;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 2;
}

}  // namespace sockchaos::agent
