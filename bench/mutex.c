/* Benchmark: contended hand-off between threads, for bench/bench.py.
 *   mutex mutex T [N]  T threads share one pthread mutex; each locks,
 *                      bumps a shared counter and unlocks until N
 *                      acquisitions in all: ns per acquisition
 *   mutex condq T [N]  T/2 producers and T/2 consumers pass N items
 *                      through a 16-slot queue guarded by a mutex and two
 *                      condition variables: ns per item
 * Prints the median over ROUNDS batches. Static, so the same binary runs
 * natively and inside every sandbox. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define ROUNDS 7
#define SLOTS 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static long counter, limit;
static long queue[SLOTS], head, count, produced, consumed;

static void *locker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&lock);
    if (counter == limit) {
      pthread_mutex_unlock(&lock);
      return NULL;
    }
    counter++;
    pthread_mutex_unlock(&lock);
  }
}

static void *producer(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&lock);
    while (count == SLOTS && produced < limit)
      pthread_cond_wait(&not_full, &lock);
    if (produced == limit) {
      pthread_cond_broadcast(&not_full);
      pthread_mutex_unlock(&lock);
      return NULL;
    }
    queue[(head + count++) % SLOTS] = produced++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
  }
}

static void *consumer(void *arg) {
  long *sum = arg;
  for (;;) {
    pthread_mutex_lock(&lock);
    while (count == 0 && consumed < limit)
      pthread_cond_wait(&not_empty, &lock);
    if (consumed == limit) {
      /* Wake the other consumers so they see the end too. */
      pthread_cond_broadcast(&not_empty);
      pthread_mutex_unlock(&lock);
      return NULL;
    }
    *sum += queue[head];
    head = (head + 1) % SLOTS;
    count--;
    consumed++;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&lock);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mutex mutex|condq THREADS [N]\n");
    return 2;
  }
  int condq = !strcmp(argv[1], "condq");
  int t = atoi(argv[2]);
  long n = argc > 3 ? atol(argv[3]) : 200000;
  if (t < 2 || t > 64 || (condq && t % 2)) {
    fprintf(stderr, "mutex: bad thread count %d\n", t);
    return 2;
  }
  pthread_t th[64];
  long sums[64];
  double per[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    counter = head = count = produced = consumed = 0;
    limit = n;
    memset(sums, 0, sizeof(sums));
    double t0 = now_ns();
    for (int i = 0; i < t; i++) {
      void *(*fn)(void *) = !condq ? locker : i % 2 ? consumer : producer;
      if (pthread_create(&th[i], NULL, fn, &sums[i])) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
      }
    }
    for (int i = 0; i < t; i++)
      pthread_join(th[i], NULL);
    per[r] = (now_ns() - t0) / n;
    long sum = 0;
    for (int i = 0; i < t; i++)
      sum += sums[i];
    if ((!condq && counter != n) || (condq && sum != n * (n - 1) / 2)) {
      fprintf(stderr, "mutex: lost updates\n");
      return 1;
    }
  }
  qsort(per, ROUNDS, sizeof(per[0]), cmp);
  printf("%.0f\n", per[ROUNDS / 2]);
  return 0;
}
