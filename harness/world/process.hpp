// Child processes (agents and user commands) started with Boost.Process inside a host's
// namespace. In the child, before exec: enter the namespace, PR_SET_PDEATHSIG(SIGKILL) so it
// dies with the orchestrator's spawning thread, exit if the orchestrator is already gone, and
// become a process-group leader (faults signal the whole group). stdout/stderr are pipes
// made here with O_CLOEXEC, so no child inherits another child's pipe.
#pragma once
#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "netns/netns.hpp"

namespace sockchaos::harness {

class ChildProcess {
 public:
  static Result<ChildProcess> spawn(const netns::NetNs& ns, const std::vector<std::string>& argv,
                                    const std::string& working_dir = "");
  // sockchaos-agent with its spec: forked, already initialised, by the agent's zygote
  // (harness/protocol/zygote.hpp) when it runs, else exec'd as spawn(ns, {agent_path, spec}).
  // Either way the agent is this process's child, in ns, with the same pipes, group and
  // PDEATHSIG as an exec'd one.
  static Result<ChildProcess> spawn_agent(const netns::NetNs& ns, const std::string& agent_path,
                                          const std::string& spec);
  ChildProcess(ChildProcess&&) noexcept;
  ChildProcess& operator=(ChildProcess&&) noexcept;
  ~ChildProcess();  // SIGKILL to the group and reap, if still running

  pid_t pid() const;
  int stdout_fd() const;  // non-blocking read end
  int stderr_fd() const;
  int pidfd() const;      // readable when the process exits
  Status signal_group(int sig);
  bool running();
  // Reaps if exited; returns the wait status (or -1 if still running).
  int try_reap();
  int exit_code() const;  // after reap: exit code, or 128+signal
  void kill_and_reap();

  // Appends what is available on stdout (non-blocking) and splits complete lines.
  // Returns false when stdout reached EOF.
  bool read_lines(std::vector<std::string>& lines);
  std::string drain_stderr(size_t limit = 64 * 1024);
  // For user commands: appends what is available on stdout and stderr, keeping at most `cap`
  // bytes of each (the rest is read and dropped, so a chatty command never blocks).
  void capture(std::string& out, std::string& err, size_t cap = 64 * 1024);

 private:
  struct Impl;
  explicit ChildProcess(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Held while this process creates a child by a path that has a window in which a new fd of
// the creating thread is not yet close-on-exec: Boost.Process's fork path (the sanitizer build)
// makes its exec-error pipe with pipe() and sets FD_CLOEXEC after. A child created by another
// thread inside that window (a fork, a vfork, a posix_spawn) keeps the pipe's write end past
// its exec, and the spawning thread's wait for the pipe's EOF lasts until that child exits: a
// user's command started 2 s before the orchestrator read the clock (seen in CI). Every
// creation of a child of this process takes it, except the vfork path, which has no such fd.
std::mutex& child_creation_mutex();

// sockchaos-agent next to the running executable, or $SOCKCHAOS_AGENT, or the build tree's.
std::string find_agent_path();

}  // namespace sockchaos::harness
