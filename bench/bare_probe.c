/* bare_probe: the baseline a user would write by hand. COUNT times: socket, SO_LINGER {1, 0},
 * blocking connect, close (RST). No request, no bookkeeping beyond counting.
 *   bare_probe ADDRESS PORT COUNT [close]
 * With "close": no SO_LINGER, an orderly close (FIN; the socket ends in TIME_WAIT).
 * Prints one JSON line: {"attempted":N,"succeeded":N,"failed":N,"seconds":S,"per_second":R}
 * The rate is (attempted - 1) / (time from the first probe's start to the last probe's
 * start), the same definition as the sockchaos probe workload's "per_second". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 4 && !(argc == 5 && argv[4][0] == 'c')) {
    fprintf(stderr, "usage: bare_probe ADDRESS PORT COUNT [close]\n");
    return 2;
  }
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
    fprintf(stderr, "bare_probe: bad address %s\n", argv[1]);
    return 2;
  }
  long count = atol(argv[3]);
  const int orderly = argc == 5;
  long ok = 0, failed = 0;
  const struct linger lg = {1, 0};
  double first = 0, last = 0;
  for (long i = 0; i < count; ++i) {
    double t = now_s();
    if (i == 0) first = t;
    last = t;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      ++failed;
      continue;
    }
    if (!orderly) setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (connect(fd, (const struct sockaddr*)&addr, sizeof addr) == 0)
      ++ok;
    else
      ++failed;
    close(fd);
  }
  double span = last - first;
  printf("{\"attempted\":%ld,\"succeeded\":%ld,\"failed\":%ld,\"seconds\":%.6f,\"per_second\":%.1f}\n", count, ok,
         failed, span, span > 0 ? (double)(count - 1) / span : 0.0);
  return failed == 0 ? 0 : 1;
}
