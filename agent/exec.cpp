// `sockchaos-agent exec [--hosts FILE] [--hostname NAME] -- ARGV...`: runs a user's command as
// PID 1 of a new PID namespace. When this wrapper dies (with the orchestrator, through
// PDEATHSIG), the command gets SIGKILL through its own PDEATHSIG, and when PID 1 of a PID
// namespace dies the kernel kills every process left in it: a daemon's forked workers cannot
// outlive the run and keep a scenario's network namespace alive. The wrapper exits with the
// command's status (128+N for signal N).
//
// --hosts: a private mount namespace (unshare(CLONE_NEWNS), every mount made private
// recursively so nothing propagates back, mount_namespaces(7)) with FILE bind-mounted over
// /etc/hosts: the scenario's host names resolve inside the command, the machine's own
// /etc/hosts is never touched. --hostname: a UTS namespace with the host's name. Both work as
// root and in a user namespace that owns the network namespaces (unshare -Urn): the new
// namespaces are owned by the caller's user namespace (user_namespaces(7)).
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "agent/agent.hpp"

namespace sockchaos::agent {
namespace {

int usage(const char* why) {
  std::fprintf(stderr, "sockchaos-agent exec: %s\nusage: sockchaos-agent exec [--hosts FILE] [--hostname NAME] -- ARGV...\n",
               why);
  return 2;
}

int fail(const char* what) {
  std::fprintf(stderr, "sockchaos-agent exec: %s: %s\n", what, std::strerror(errno));
  return 2;
}

}  // namespace

int run_exec(int argc, char** argv) {
  const char* hosts = nullptr;
  const char* hostname = nullptr;
  int i = 0;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if ((a == "--hosts" || a == "--hostname") && i + 1 < argc) {
      (a == "--hosts" ? hosts : hostname) = argv[++i];
      continue;
    }
    return usage(("unknown option " + a).c_str());
  }
  if (i >= argc) return usage("missing --");
  argc -= i + 1;
  argv += i + 1;
  if (argc < 1) return usage("no command");

  int flags = CLONE_NEWPID;
  if (hosts) flags |= CLONE_NEWNS;
  if (hostname) flags |= CLONE_NEWUTS;
  if (::unshare(flags) != 0) return fail("unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS)");
  if (hosts) {
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail("mount --make-rprivate /");
    if (::mount(hosts, "/etc/hosts", nullptr, MS_BIND, nullptr) != 0) {
      const std::string what = std::string("bind-mount ") + hosts + " over /etc/hosts";
      return fail(what.c_str());
    }
  }
  if (hostname && ::sethostname(hostname, std::strlen(hostname)) != 0) return fail("sethostname");

  pid_t child = ::fork();
  if (child < 0) return fail("fork");
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(argv[0], argv);
    std::fprintf(stderr, "sockchaos-agent exec: %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  // SIGSTOP/SIGCONT/SIGKILL reach the whole process group directly.
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
