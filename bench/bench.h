/* Shared by the benchmark programs (each one static binary built from
 * one file): a monotonic clock in nanoseconds and the comparison qsort
 * takes a median with. */
#ifndef MOAT_BENCH_H
#define MOAT_BENCH_H

#include <time.h>

static inline double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

#endif
