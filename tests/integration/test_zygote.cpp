// Agents forked by the agent zygote (harness/protocol/zygote.hpp) against agents exec'd
// (SOCKCHAOS_ZYGOTE=0): both are this process's children, in the host's namespace, process-group
// leaders with /dev/null on stdin, and report their exit status the same way.
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/protocol/agent_spec.hpp"
#include "harness/world/process.hpp"
#include "netns/netns.hpp"
#include "support.hpp"

namespace {

using sockchaos::harness::ChildProcess;
using sockchaos::testing::read_text;

struct ZygoteEnv {
  explicit ZygoteEnv(const char* value) {
    if (value) ::setenv("SOCKCHAOS_ZYGOTE", value, 1);
    else ::unsetenv("SOCKCHAOS_ZYGOTE");
  }
  ~ZygoteEnv() { ::unsetenv("SOCKCHAOS_ZYGOTE"); }
};

// Lines the agent printed until one contains `want` (or 5 s pass).
std::string read_until(ChildProcess& p, const std::string& want) {
  std::string all;
  for (int i = 0; i < 50 && all.find(want) == std::string::npos; ++i) {
    pollfd fd{p.stdout_fd(), POLLIN, 0};
    ::poll(&fd, 1, 100);
    std::vector<std::string> lines;
    p.read_lines(lines);
    for (const auto& l : lines) all += l + "\n";
  }
  return all;
}

// The 4th field of /proc/PID/stat: the parent's pid.
pid_t parent_of(pid_t pid) {
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  int ppid = -1;
  char state = 0;
  std::sscanf(stat.c_str() + close + 2, "%c %d", &state, &ppid);
  return ppid;
}

unsigned long net_inode_of(pid_t pid) {
  struct stat st {};
  if (::stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &st) != 0) return 0;
  return st.st_ino;
}

std::string listening_server_spec() {
  sockchaos::harness::ServerSpec server;
  server.port = 7000;
  return sockchaos::harness::make_server_agent_spec(server, "0.0.0.0", "").dump();
}

void expect_agent_like_exec(const char* zygote, bool forked) {
  SCOPED_TRACE(std::string("SOCKCHAOS_ZYGOTE=") + (zygote ? zygote : "(unset)"));
  ZygoteEnv env(zygote);
  auto ns = sockchaos::netns::NetNs::create();
  ASSERT_TRUE(ns.ok()) << ns.error().str();
  auto agent = ChildProcess::spawn_agent(*ns, sockchaos::harness::find_agent_path(), listening_server_spec());
  ASSERT_TRUE(agent.ok()) << agent.error().str();
  const std::string out = read_until(*agent, "\"listening\"");
  EXPECT_NE(out.find("\"ev\":\"listening\""), std::string::npos) << out;
  const pid_t pid = agent->pid();
  EXPECT_EQ(parent_of(pid), ::getpid()) << "the agent is this process's child, whoever forked it";
  EXPECT_EQ(net_inode_of(pid), ns->inode()) << "the agent runs in the host's namespace";
  EXPECT_EQ(::getpgid(pid), pid) << "the agent leads its own process group (faults signal the group)";
  char target[256] = {};
  (void)!::readlink(("/proc/" + std::to_string(pid) + "/fd/0").c_str(), target, sizeof target - 1);
  EXPECT_EQ(std::string(target), "/dev/null");
  const std::string cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  if (forked) {
    EXPECT_EQ(cmdline.find("\"role\""), std::string::npos) << "forked by the zygote, not exec'd with its spec";
    EXPECT_NE(cmdline.find(std::string("sockchaos-agent\0server", 22)), std::string::npos)
        << "a forked agent's command line names its role";
  } else {
    EXPECT_NE(cmdline.find("\"role\":\"server\""), std::string::npos) << "exec'd with its spec";
  }
  ASSERT_TRUE(agent->signal_group(SIGTERM).ok());
  pollfd exited{agent->pidfd(), POLLIN, 0};
  ASSERT_EQ(::poll(&exited, 1, 5000), 1) << "the pidfd reports the agent's exit";
  ASSERT_NE(agent->try_reap(), -1) << "this process reaps it";
  EXPECT_EQ(agent->exit_code(), 128 + SIGTERM);
}

}  // namespace

TEST(AgentZygote, ForkedAgentIsOurChildInTheHostNamespaceLikeAnExecdOne) {
  SKIP_UNLESS_ABLE();
  expect_agent_like_exec(nullptr, true);
  expect_agent_like_exec("0", false);
}

TEST(AgentZygote, ForkedAgentReportsItsExitStatusAndOutput) {
  SKIP_UNLESS_ABLE();
  ZygoteEnv env(nullptr);
  auto ns = sockchaos::netns::NetNs::create();
  ASSERT_TRUE(ns.ok()) << ns.error().str();
  // A spec the agent rejects: "fatal" on stdout, exit 2 (agent/agent.hpp).
  auto agent = ChildProcess::spawn_agent(*ns, sockchaos::harness::find_agent_path(), R"({"role":"nobody"})");
  ASSERT_TRUE(agent.ok()) << agent.error().str();
  const std::string out = read_until(*agent, "\"fatal\"");
  EXPECT_NE(out.find("\"ev\":\"fatal\""), std::string::npos) << out;
  pollfd exited{agent->pidfd(), POLLIN, 0};
  ASSERT_EQ(::poll(&exited, 1, 5000), 1);
  ASSERT_NE(agent->try_reap(), -1);
  EXPECT_EQ(agent->exit_code(), 2);
}

TEST(AgentZygote, ManyAgentsAtOnceEachGetTheirOwnPipesAndNamespace) {
  SKIP_UNLESS_ABLE();
  ZygoteEnv env(nullptr);
  std::vector<sockchaos::netns::NetNs> spaces;
  std::vector<ChildProcess> agents;
  for (int i = 0; i < 8; ++i) {
    auto ns = sockchaos::netns::NetNs::create();
    ASSERT_TRUE(ns.ok()) << ns.error().str();
    spaces.push_back(std::move(*ns));
  }
  for (auto& ns : spaces) {
    auto agent = ChildProcess::spawn_agent(ns, sockchaos::harness::find_agent_path(), listening_server_spec());
    ASSERT_TRUE(agent.ok()) << agent.error().str();
    agents.push_back(std::move(*agent));
  }
  for (size_t i = 0; i < agents.size(); ++i) {
    // Each binds port 7000 in its own namespace: a shared namespace would make all but one fail.
    const std::string out = read_until(agents[i], "\"listening\"");
    EXPECT_NE(out.find("\"ev\":\"listening\""), std::string::npos) << "agent " << i << ": " << out;
    EXPECT_EQ(net_inode_of(agents[i].pid()), spaces[i].inode());
  }
  for (auto& a : agents) a.kill_and_reap();
  for (auto& a : agents) EXPECT_EQ(a.exit_code(), 128 + SIGKILL);
}

// An agent binary that is a wrapper which forks the real agent (as bench/run.sh's tee does, or
// strace -f): the zygote it starts is the wrapper's child, so the zygote's agents would be too.
// spawn_agent notices (the agent is not our child), and that agent and every later one of that
// path are exec'd: the pid it returns is always one this process can wait for.
TEST(AgentZygote, AWrapperThatForksTheAgentFallsBackToExec) {
  SKIP_UNLESS_ABLE();
  ZygoteEnv env(nullptr);
  auto dir = sockchaos::testing::make_temp_dir("zygote-wrapper");
  const std::string wrapper = (dir / "agent-wrapper.sh").string();
  // Like bench/run.sh's tee: the real agent's parent is the shell, and it is told so.
  sockchaos::testing::write_text(wrapper, "#!/bin/sh\nSOCKCHAOS_PARENT_PID=$$ \"" + sockchaos::harness::find_agent_path() +
                                              "\" \"$@\"\nexit $?\n");
  ASSERT_EQ(::chmod(wrapper.c_str(), 0755), 0);
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE("agent " + std::to_string(i));
    auto ns = sockchaos::netns::NetNs::create();
    ASSERT_TRUE(ns.ok()) << ns.error().str();
    auto agent = ChildProcess::spawn_agent(*ns, wrapper, listening_server_spec());
    ASSERT_TRUE(agent.ok()) << agent.error().str();
    const std::string out = read_until(*agent, "\"listening\"");
    EXPECT_NE(out.find("\"ev\":\"listening\""), std::string::npos) << out;
    EXPECT_EQ(parent_of(agent->pid()), ::getpid()) << "the pid handed back is our child";
    agent->kill_and_reap();
  }
}
