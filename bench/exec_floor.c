/* The cost of starting any process on this machine, the floor under every agent start:
 * posix_spawn() of this same binary, statically linked like the agent, running main() that
 * returns at once, then waitpid(). One JSON line per spawn, in milliseconds:
 *   sockchaos-exec-floor COUNT      ->  {"kind":"exec","ms":0.571}
 * What it includes: fork (vfork-style, as posix_spawn does), exec, the C library's start-up
 * (for glibc on x86 that includes probing the CPU's caches with CPUID, which traps to the
 * hypervisor in a virtual machine), exit and the reap. No harness code at all. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char** environ;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "nop") == 0) return 0;
  const int count = argc == 2 ? atoi(argv[1]) : 0;
  if (count <= 0 || count > 100000) {
    fprintf(stderr, "usage: sockchaos-exec-floor COUNT (1..100000)\n");
    return 2;
  }
  char* child_argv[] = {argv[0], "nop", NULL};
  for (int i = 0; i < count; ++i) {
    const double t0 = now_ms();
    pid_t pid;
    if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, child_argv, environ) != 0) {
      perror("posix_spawn");
      return 1;
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "the child did not exit 0\n");
      return 1;
    }
    printf("{\"kind\":\"exec\",\"ms\":%.4f}\n", now_ms() - t0);
  }
  return 0;
}
