/* Benchmark: one byte back and forth between two processes over two pipes.
 * Prints the median round-trip time in microseconds over ROUNDS batches.
 * Static, so the same binary runs natively and inside moat. */
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
  int n = argc > 1 ? atoi(argv[1]) : 5000;
  int there[2], back[2];
  if (pipe(there) || pipe(back)) {
    perror("pipe");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  char c = 'x';
  if (pid == 0) {
    close(there[1]);
    close(back[0]);
    while (read(there[0], &c, 1) == 1)
      if (write(back[1], &c, 1) != 1)
        _exit(1);
    _exit(0);
  }
  close(there[0]);
  close(back[1]);
  double per[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
      if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1) {
        fprintf(stderr, "pipe broke\n");
        return 1;
      }
    }
    per[r] = (now_us() - t0) / n;
  }
  close(there[1]);
  waitpid(pid, NULL, 0);
  qsort(per, ROUNDS, sizeof(per[0]), cmp);
  printf("%.2f\n", per[ROUNDS / 2]);
  return 0;
}
