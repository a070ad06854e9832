/* Benchmark: the cost of one trivial system call (getppid), the floor of
 * every emulated call. Prints the median in nanoseconds over ROUNDS
 * batches. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 7

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

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
