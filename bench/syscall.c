/* Benchmark: the cost of one trivial system call (getppid), the floor of
 * every emulated call. Prints the median in nanoseconds over ROUNDS
 * batches. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define ROUNDS 7

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100000;
  double per[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now_ns();
    for (int i = 0; i < n; i++)
      syscall(SYS_getppid);
    per[r] = (now_ns() - t0) / n;
  }
  qsort(per, ROUNDS, sizeof(per[0]), cmp);
  printf("%.0f\n", per[ROUNDS / 2]);
  return 0;
}
