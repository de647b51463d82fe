// `sockchaos-agent zygote`: the agent's fork server (harness/protocol/zygote.hpp).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "agent/agent.hpp"
#include "harness/protocol/zygote.hpp"

namespace sockchaos::agent {
namespace {

void reply(int sock, pid_t pid, int err) {
  harness::ZygoteReply r;
  r.pid = pid;
  r.err = err;
  while (::send(sock, &r, sizeof r, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// In the new agent: what ChildProcess's exec path does between fork and exec, then the spec.
[[noreturn]] void become_agent(pid_t orchestrator, const int (&fds)[harness::kZygoteRequestFds],
                               const std::string& spec, char* title) {
  if (::setns(fds[0], CLONE_NEWNET) != 0) ::_exit(126);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != orchestrator) ::_exit(kExitOrphaned);
  ::setpgid(0, 0);
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) ::dup2(devnull, 0);
  ::dup2(fds[1], 1);
  ::dup2(fds[2], 2);
  for (int fd : fds)
    if (fd > 2) ::close(fd);
  if (devnull > 2) ::close(devnull);
  ::_exit(run_spec(spec.c_str(), title));
}

}  // namespace

int run_zygote(char* title) {
  const pid_t orchestrator = ::getppid();
  // Read the whole binary into the page cache and keep it there while the run lasts: an agent's
  // first touch of any page is then a minor fault, never a disk read (see run_spec). Best effort.
  ::mlockall(MCL_CURRENT);
  const int sock = 0;
  std::string spec;
  std::vector<char> buf(harness::kZygoteMaxSpec);
  for (;;) {
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * harness::kZygoteRequestFds)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0 ? 0 : kExitOrphaned;  // the orchestrator closed its end, or is gone
    int fds[harness::kZygoteRequestFds] = {-1, -1, -1};
    size_t got = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (got < harness::kZygoteRequestFds) fds[got] = fd;
        else ::close(fd);
        ++got;
      }
    }
    auto close_all = [&] {
      for (int& fd : fds)
        if (fd >= 0) ::close(fd), fd = -1;
    };
    if (got != harness::kZygoteRequestFds || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
      close_all();
      reply(sock, -1, (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? EMSGSIZE : EBADMSG);
      continue;
    }
    spec.assign(buf.data(), static_cast<size_t>(n));
    // clone(CLONE_PARENT) with no new stack: a fork whose child is the orchestrator's. The child
    // gets the zygote's exit signal (SIGCHLD), so it is waited for like any other child.
    const long pid = ::syscall(SYS_clone, CLONE_PARENT, nullptr, nullptr, nullptr, nullptr);
    if (pid == 0) {
      ::close(sock);
      become_agent(orchestrator, fds, spec, title);
    }
    const int err = pid < 0 ? errno : 0;
    close_all();
    reply(sock, pid < 0 ? -1 : static_cast<pid_t>(pid), err);
  }
}

}  // namespace sockchaos::agent
