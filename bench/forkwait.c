/* Benchmark: fork + _exit + wait4 round trips. Prints the median latency
 * of one round trip in microseconds over ROUNDS batches. Static, so the
 * same binary runs natively and inside moat. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define ROUNDS 7

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  double per[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
      pid_t pid = fork();
      if (pid < 0) {
        perror("fork");
        return 1;
      }
      if (pid == 0)
        _exit(7);
      int status;
      if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
          WEXITSTATUS(status) != 7) {
        fprintf(stderr, "bad wait\n");
        return 1;
      }
    }
    per[r] = (now_us() - t0) / n;
  }
  qsort(per, ROUNDS, sizeof(per[0]), cmp);
  printf("%.1f\n", per[ROUNDS / 2]);
  return 0;
}
