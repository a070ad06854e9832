/* 16 threads: a mutex-protected counter, a barrier, a condition
 * variable broadcast and joins with return values (futex WAIT/WAKE across
 * host threads of one guest process). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#define N 16
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t b;
static long counter;
static int ready;
static void *run(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 10000; i++) {
    pthread_mutex_lock(&m);
    counter++;
    pthread_mutex_unlock(&m);
  }
  pthread_barrier_wait(&b);
  pthread_mutex_lock(&m);
  while (!ready)
    pthread_cond_wait(&c, &m);
  pthread_mutex_unlock(&m);
  return (void *)(id * 2);
}
int main(void) {
  pthread_t t[N];
  pthread_barrier_init(&b, NULL, N + 1);
  for (long i = 0; i < N; i++)
    if (pthread_create(&t[i], NULL, run, (void *)i)) {
      perror("create");
      return 1;
    }
  pthread_barrier_wait(&b);
  printf("counter %ld\n", counter);
  pthread_mutex_lock(&m);
  ready = 1;
  pthread_cond_broadcast(&c);
  pthread_mutex_unlock(&m);
  long sum = 0;
  for (int i = 0; i < N; i++) {
    void *r;
    pthread_join(t[i], &r);
    sum += (long)r;
  }
  printf("sum %ld\n", sum);
  return 0;
}
