// Children created from several threads at once (cells run in parallel, each starting its
// server, its client and the user's commands): no child inherits an fd another thread was
// creating, and no spawn waits for another spawn's child to exit. The sanitizer build's
// Boost.Process fork path makes its exec-error pipe with pipe() and sets FD_CLOEXEC after; a
// child created by another thread in between kept the write end past its exec, and the first
// spawn's wait for that pipe's EOF lasted until the other child exited (CI: an audit's curl was
// seen by the orchestrator 2 s after it had started). child_creation_mutex() closes that window.
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <set>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness/world/process.hpp"
#include "netns/netns.hpp"
#include "support.hpp"

namespace {

using sockchaos::harness::ChildProcess;

// The fds /proc/PID/fd lists: number -> what it is.
std::vector<std::pair<int, std::string>> open_fds(const std::string& pid) {
  std::vector<std::pair<int, std::string>> out;
  const std::string dir = "/proc/" + pid + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[256] = {};
    (void)!::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    out.emplace_back(std::atoi(e->d_name), target);
  }
  ::closedir(d);
  return out;
}

// What this process was given by whoever started it and passes on to every child like any
// program does (fds above 2 without FD_CLOEXEC: a CI runner's, a shell's).
std::set<int> passed_down() {
  std::set<int> out;
  for (const auto& [fd, what] : open_fds("self")) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (fd > 2 && flags >= 0 && !(flags & FD_CLOEXEC)) out.insert(fd);
  }
  return out;
}

}  // namespace

TEST(ChildCreation, ChildrenStartedFromManyThreadsInheritNothingAndNoSpawnWaitsForAnother) {
  SKIP_UNLESS_ABLE();
  auto ns = sockchaos::netns::NetNs::create();
  ASSERT_TRUE(ns.ok()) << ns.error().str();
  constexpr int kThreads = 4, kEach = 15;
  // Each child lives 6 s: a spawn that waited for a sibling's exit would take that long; one
  // that did not takes milliseconds even under the sanitizers. Half of it is the line.
  constexpr double kLifeS = 6, kWaitedS = kLifeS / 2;
  const std::set<int> inherited = passed_down();
  std::mutex mu;
  std::vector<ChildProcess> children;
  std::vector<std::string> failures;
  std::atomic<int> ready{0}, done{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();  // all start spawning together
      for (int i = 0; i < kEach; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto child = ChildProcess::spawn(*ns, {"/bin/sleep", "6"});
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::lock_guard<std::mutex> lock(mu);
        if (!child.ok()) {
          failures.push_back("spawn: " + child.error().str());
          continue;
        }
        if (took >= kWaitedS)
          failures.push_back("a spawn took " + std::to_string(took) + " s: it waited for another child");
        children.push_back(std::move(*child));
      }
      // A child's PR_SET_PDEATHSIG fires when the thread that started it ends: stay until the
      // children have been looked at.
      ++done;
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  while (done.load() < kThreads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_EQ(children.size(), static_cast<size_t>(kThreads * kEach));
  for (auto& c : children) {
    EXPECT_TRUE(c.running()) << "sleep " << kLifeS << " s is still running";
    // Looked at once it sleeps: while it starts, sleep(1) itself opens and closes locale files.
    const std::string syscall_file = "/proc/" + std::to_string(c.pid()) + "/syscall";
    const std::string sleeping = std::to_string(SYS_clock_nanosleep) + " ";
    for (int i = 0; i < 300 && sockchaos::testing::read_text(syscall_file).rfind(sleeping, 0) != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(sockchaos::testing::read_text(syscall_file).rfind(sleeping, 0), 0u) << "sleep(1) is in clock_nanosleep";
    // stdin (/dev/null), stdout and stderr (its own pipes), and what this process was given:
    // nothing made by any thread here (a pipe, a /dev/null, a socket) reaches the child.
    std::string listed, extra;
    int std_fds = 0;
    for (const auto& [fd, what] : open_fds(std::to_string(c.pid()))) {
      listed += std::to_string(fd) + " -> " + what + "; ";
      if (fd <= 2) ++std_fds;
      else if (!inherited.count(fd)) extra += std::to_string(fd) + " -> " + what + "; ";
    }
    EXPECT_EQ(std_fds, 3) << "pid " << c.pid() << " holds " << listed;
    EXPECT_EQ(extra, "") << "pid " << c.pid() << " holds " << listed;
  }
  for (auto& c : children) c.kill_and_reap();
  release = true;
  for (auto& th : threads) th.join();
}
