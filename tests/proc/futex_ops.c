/* Raw futex operations against native: CMP_REQUEUE (value mismatch and
 * a wake plus a move), WAKE on both words, WAKE_OP, a relative timed
 * WAIT and an absolute WAIT_BITSET timeout. */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
static int f1, f2, woke;
static long fx(int *a, int op, int v, void *t, int *a2, int v3) {
  return syscall(SYS_futex, a, op, v, t, a2, v3);
}
static void *w(void *a) {
  fx(&f1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  __sync_fetch_and_add(&woke, 1);
  return a;
}
int main(void) {
  pthread_t t[3];
  for (int i = 0; i < 3; i++)
    pthread_create(&t[i], NULL, w, NULL);
  usleep(100000);
  printf("cmp_requeue bad val: %ld errno %d\n",
         fx(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)2, &f2, 5), errno);
  printf("cmp_requeue: %ld\n",
         fx(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2, &f2, 0));
  usleep(50000);
  printf("woke after requeue: %d\n", woke);
  printf("wake f1: %ld\n", fx(&f1, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  printf("wake f2: %ld\n", fx(&f2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  printf("woke %d\n", woke);
  f2 = 1;
  long r = fx(&f1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &f2,
              FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 1));
  printf("wake_op %ld f2=%d\n", r, f2);
  struct timespec ts = {0, 20000000};
  r = fx(&f1, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
  printf("timed wait %ld errno %d\n", r, errno);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_nsec += 20000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  r = fx(&f1, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL, FUTEX_BITSET_MATCH_ANY);
  printf("bitset abs wait %ld errno %d\n", r, errno);
  return 0;
}
